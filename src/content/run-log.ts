/**
 * The log file of one run: each line as printed, after the time it was printed and a tab,
 * so the jobs API can answer with Connect's `{source, timestamp, data}` entries.
 */
import { readFile } from "node:fs/promises";

export interface LogEntry {
  readonly source: "stdout";
  readonly timestamp: string;
  readonly data: string;
}

export function logLine(text: string, at = new Date()): string {
  return `${at.toISOString()}\t${text}\n`;
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
  // Runners merge a job's two streams into one, so every entry is reported as stdout.
  return lines.slice(-maxLines).map((line) => {
    const tab = line.indexOf("\t");
    return { source: "stdout", timestamp: line.slice(0, tab), data: line.slice(tab + 1) };
  });
}
