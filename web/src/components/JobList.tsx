import { useEffect, useState } from "react";
import { api, describeFailure, type Job, type JobLog } from "../api";
import { LoadState, useLoad } from "../load";

const KIND: Record<string, string> = {
  python_restore: "Build (Python)",
  packrat_restore: "Build (R)",
  build_report: "Render",
  build_jupyter: "Render",
  run_app: "Process",
  run_api: "Process",
};
const when = (time: string | null) => (time ? new Date(time).toLocaleString() : "running");
/** How often a running job's log is read again: often enough to follow it, seldom enough to be cheap. */
const FOLLOW_MS = 1500;

/** The content's jobs, newest first, and the log of the one chosen. */
export function JobList(props: { contentGuid: string }) {
  const path = `/v1/content/${props.contentGuid}/jobs`;
  const jobs = useLoad(() => api<Job[]>("GET", path), [path]);
  const [chosen, setChosen] = useState<Job | null>(null);
  return (
    <section aria-labelledby="jobs-heading">
      <h2 id="jobs-heading">Jobs</h2>
      {!jobs.data ? (
        <LoadState load={jobs} what="the jobs" />
      ) : jobs.data.length === 0 ? (
        <p>No jobs yet: builds, renders and processes appear here once they start.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption>Jobs</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Exit code</th>
                <th scope="col">Image</th>
                <th scope="col">Log</th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.map((j) => (
                <tr key={j.key}>
                  <td>{KIND[j.tag] ?? j.tag}</td>
                  <td>{when(j.start_time)}</td>
                  <td>{when(j.end_time)}</td>
                  <td>{j.exit_code ?? "—"}</td>
                  <td className="mono">{j.image ?? "—"}</td>
                  <td>
                    <button type="button" onClick={() => setChosen(j)}>
                      Show log of job {j.key}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {chosen && <OneJobLog contentGuid={props.contentGuid} job={chosen} />}
    </section>
  );
}

/** One job's output, read again while the job runs. */
function OneJobLog(props: { contentGuid: string; job: Job }) {
  const base = `/v1/content/${props.contentGuid}/jobs/${props.job.key}`;
  const [log, setLog] = useState<JobLog | null>(null);
  const [running, setRunning] = useState(props.job.end_time === null);
  const [error, setError] = useState("");
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const [job, entries] = await Promise.all([
          api<Job>("GET", base),
          api<JobLog>("GET", `${base}/log?maxLogLines=5000`),
        ]);
        if (stopped) return;
        setLog(entries);
        setRunning(job.end_time === null);
        setError("");
        if (job.end_time === null) timer = setTimeout(read, FOLLOW_MS);
      } catch (failure) {
        if (!stopped) setError(`Could not load the job's log: ${describeFailure(failure)}`);
      }
    };
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [base]);
  return (
    <section aria-labelledby="job-log-heading">
      <h3 id="job-log-heading">Log of job {props.job.key}</h3>
      {error ? (
        <p role="alert">{error}</p>
      ) : (
        <p role="status">
          {!log ? "Loading…" : running ? "Running: the log follows it." : "Ended."}
        </p>
      )}
      {log && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must take focus so the keyboard can scroll it
        <pre className="log" role="log" tabIndex={0} aria-label={`Log of job ${props.job.key}`}>
          {log.entries.map((e) => e.data).join("\n")}
        </pre>
      )}
    </section>
  );
}
