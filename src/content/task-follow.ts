/**
 * Following a task's log to its end, one long-poll after another: the CLI's deploy and the
 * dashboard's log read it the same way. Runs in Node and in the browser alike.
 */
import type { Task } from "./model.js";

export type TaskPage = Pick<Task, "output" | "last" | "finished" | "code" | "error">;

/** The path of the next page of a task's log, waiting up to `waitSeconds` for new lines. */
export function taskPagePath(taskId: string, first: number, waitSeconds = 1): string {
  return `/v1/tasks/${encodeURIComponent(taskId)}?first=${first}&wait=${waitSeconds}`;
}

/**
 * Reads pages until the task finishes, handing each page's new lines to `onLines`; returns
 * the last page, or undefined when `stopped()` turned true first (a page left, a signal).
 */
export async function followTask(
  taskId: string,
  get: (path: string) => Promise<TaskPage>,
  onLines: (lines: string[]) => void,
  stopped: () => boolean = () => false,
): Promise<TaskPage | undefined> {
  let first = 0;
  while (!stopped()) {
    const page = await get(taskPagePath(taskId, first));
    if (stopped()) return undefined;
    if (page.output.length > 0) onLines(page.output);
    first = page.last;
    if (page.finished) return page;
  }
  return undefined;
}
