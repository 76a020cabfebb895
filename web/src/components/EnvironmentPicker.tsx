import { useEffect, useState } from "react";
import { api, type Environment } from "../api";
import { LoadState, useLoad } from "../load";
import { Dialog } from "./Dialog";
import { EnvironmentTable, type TableState } from "./EnvironmentTable";

interface Verdict {
  environment_guid: string;
  verdict: string;
  detail: string;
}

/** The window where a publisher picks an environment, seeing which ones fit the content and why. */
export function EnvironmentPicker(props: {
  contentGuid: string;
  onPick(environment: Environment): void;
  onClose(): void;
}) {
  const loaded = useLoad(() => api<Environment[]>("GET", "/v1/environments"), []);
  const environments = loaded.data ?? [];
  const [verdicts, setVerdicts] = useState<Map<string, Verdict> | null>(null);
  const [note, setNote] = useState("");
  const [state, setState] = useState<TableState>({ query: "", sort: "title", descending: false });
  useEffect(() => {
    api<{ explanation: Verdict[] }>("POST", "/slipway/v1/selection", {
      content_guid: props.contentGuid,
      each: true,
    })
      .then((answer) =>
        setVerdicts(new Map(answer.explanation.map((v) => [v.environment_guid, v]))),
      )
      .catch(() =>
        setNote("This content has no deployed bundle yet, so compatibility cannot be checked."),
      );
  }, [props.contentGuid]);
  return (
    <Dialog title="Select an execution environment" onClose={props.onClose}>
      <p className="lead">
        {note || "Compatibility is judged against the manifest of the content's active bundle."}
      </p>
      {!loaded.data && <LoadState load={loaded} what="environments" />}
      <EnvironmentTable
        caption="Environments to choose from"
        environments={environments.filter((e) => e.matching !== "none")}
        state={state}
        onChange={setState}
        extra={{
          header: "Fits this content",
          cell: (e) => {
            const v = verdicts?.get(e.guid);
            const fits = !verdicts || v?.verdict === "compatible";
            return (
              <div className="fit">
                <span className={fits ? "ok" : "no"}>
                  {verdicts
                    ? fits
                      ? "Compatible"
                      : `Not compatible: ${v?.detail ?? "unknown"}`
                    : "—"}
                </span>
                <button
                  type="button"
                  disabled={!fits}
                  onClick={() => props.onPick(e)}
                  aria-label={`Use ${e.title ?? e.name}`}
                >
                  Use
                </button>
              </div>
            );
          },
        }}
      />
      <div className="actions">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}
