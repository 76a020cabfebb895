import { useEffect, useState } from "react";
import { api, type Content, describeFailure, type Environment, type User } from "../api";
import { EnvironmentPicker } from "./EnvironmentPicker";

interface Task {
  output: string[];
  last: number;
  finished: boolean;
  code: number;
  error: string;
}

function TaskLog(props: { contentGuid: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState("");
  useEffect(() => {
    let stopped = false;
    void (async () => {
      const { id } = await api<{ id: string | null }>(
        "GET",
        `/slipway/v1/content/${props.contentGuid}/last-task`,
      );
      if (!id) return setState("Not deployed yet.");
      let first = 0;
      while (!stopped) {
        const task = await api<Task>("GET", `/v1/tasks/${id}?first=${first}&wait=1`);
        first = task.last;
        if (task.output.length > 0) setLines((previous) => [...previous, ...task.output]);
        if (task.finished) {
          setState(
            task.code === 0 ? "Last deploy succeeded." : `Last deploy failed: ${task.error}`,
          );
          return;
        }
        setState("Deploying…");
      }
    })();
    return () => {
      stopped = true;
    };
  }, [props.contentGuid]);
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading">Last deploy</h2>
      <p role="status">{state}</p>
      {lines.length > 0 && (
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must take focus so the keyboard can scroll it
        <pre className="log" role="log" tabIndex={0} aria-label="Deploy log">
          {lines.join("\n")}
        </pre>
      )}
    </section>
  );
}

export function ContentPage(props: { guid: string; user: User }) {
  const [content, setContent] = useState<Content | null>(null);
  const [environments, setEnvironments] = useState<Environment[]>([]);
  const [mode, setMode] = useState<"automatic" | "specific">("automatic");
  const [chosen, setChosen] = useState<Environment | null>(null);
  const [picking, setPicking] = useState(false);
  const [message, setMessage] = useState("");
  useEffect(() => {
    void api<Content>("GET", `/v1/content/${props.guid}`).then((c) => {
      setContent(c);
      setMode(c.default_environment_guid ? "specific" : "automatic");
    });
    void api<Environment[]>("GET", "/v1/environments").then(setEnvironments);
  }, [props.guid]);
  useEffect(() => {
    setChosen(environments.find((e) => e.guid === content?.default_environment_guid) ?? null);
  }, [environments, content]);
  if (!content) return <p>Loading…</p>;
  const changed =
    (mode === "automatic" ? null : (chosen?.guid ?? null)) !== content.default_environment_guid;

  return (
    <section aria-labelledby="content-title">
      <h1 id="content-title">{content.title ?? content.name}</h1>
      <p>
        <a href={content.content_url}>Open the content</a> · app mode {content.app_mode ?? "—"} ·
        environment <span className="mono">{content.image_name ?? "—"}</span>
      </p>
      <section aria-labelledby="runtime-heading" className="panel">
        <h2 id="runtime-heading">Runtime</h2>
        <fieldset>
          <legend>Execution Environment</legend>
          <label className="radio">
            <input
              type="radio"
              name="environment-mode"
              checked={mode === "automatic"}
              onChange={() => setMode("automatic")}
            />
            Automatic: Slipway selects an environment that fits the content.
          </label>
          <label className="radio">
            <input
              type="radio"
              name="environment-mode"
              checked={mode === "specific"}
              onChange={() => setMode("specific")}
            />
            Use a specific environment
          </label>
        </fieldset>
        {mode === "specific" && (
          <p>
            {chosen ? (
              <>
                Selected: <strong>{chosen.title ?? chosen.name}</strong>{" "}
                <span className="mono">({chosen.name})</span>{" "}
              </>
            ) : (
              "No environment selected. "
            )}
            <button type="button" onClick={() => setPicking(true)}>
              {chosen ? "Change…" : "Select environment…"}
            </button>
          </p>
        )}
        {changed && (
          <p className="warning">
            The content will rebuild in the new environment the next time it runs.
          </p>
        )}
        <button
          type="button"
          className="primary"
          disabled={!changed || (mode === "specific" && !chosen)}
          onClick={async () => {
            try {
              const updated = await api<Content>("PATCH", `/v1/content/${content.guid}`, {
                default_environment_guid: mode === "automatic" ? null : chosen!.guid,
                default_image_name: null,
              });
              setContent(updated);
              setMessage("Saved.");
            } catch (error) {
              setMessage(describeFailure(error));
            }
          }}
        >
          Save runtime settings
        </button>
        <p role="status">{message}</p>
      </section>
      <TaskLog contentGuid={content.guid} />
      {picking && (
        <EnvironmentPicker
          contentGuid={content.guid}
          onClose={() => setPicking(false)}
          onPick={(e) => {
            setChosen(e);
            setPicking(false);
          }}
        />
      )}
    </section>
  );
}
