import { useEffect, useState } from "react";
import { followTask, type TaskPage } from "../../../src/content/task-follow";
import { api, describeFailure } from "../api";

/** The content's last deploy, its log followed live while it runs. */
export function TaskLog(props: { contentGuid: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState("Loading the last deploy…");
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let stopped = false;
    setLines([]);
    void (async () => {
      const { id } = await api<{ id: string | null }>(
        "GET",
        `/slipway/v1/content/${props.contentGuid}/last-task`,
      );
      if (!id) return setState("Not deployed yet.");
      setState("Deploying…");
      const last = await followTask(
        id,
        (path) => api<TaskPage>("GET", path),
        (page) => setLines((previous) => [...previous, ...page]),
        () => stopped,
      );
      if (!last) return;
      setState(last.code === 0 ? "Last deploy succeeded." : `Last deploy failed: ${last.error}`);
    })().catch((error: unknown) => {
      if (stopped) return;
      setFailed(true);
      setState(`Could not load the deploy log: ${describeFailure(error)}`);
    });
    return () => {
      stopped = true;
    };
  }, [props.contentGuid]);
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading">Last deploy</h2>
      <p role={failed ? "alert" : "status"}>{state}</p>
      {lines.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must take focus so the keyboard can scroll it
        <pre className="log" role="log" tabIndex={0} aria-label="Deploy log">
          {lines.join("\n")}
        </pre>
      )}
    </section>
  );
}
