/**
 * The log file of one run: each line as printed, after the time it was printed and the stream
 * it came from, tab-separated, so the jobs API can answer with Connect's `{source, timestamp,
 * data}` entries.
 */
import { readFile } from "node:fs/promises";
import type { OutputLine } from "../runners/runner.js";

export interface LogEntry {
  readonly source: OutputLine["source"];
  readonly timestamp: string;
  readonly data: string;
}

export function logLine(line: OutputLine, at = new Date()): string {
  return `${at.toISOString()}\t${line.source}\t${line.text}\n`;
}

/** The last `maxLines` entries of a log file; none when the run has written nothing yet. */
export async function readLog(file: string, maxLines: number): Promise<LogEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-maxLines).map((line) => {
    const [timestamp = "", source = "", ...data] = line.split("\t");
    return {
      source: source === "stderr" ? "stderr" : "stdout",
      timestamp,
      data: data.join("\t"),
    };
  });
}
