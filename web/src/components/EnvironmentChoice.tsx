import { useState } from "react";
import { api, type Content, describeFailure, type Environment } from "../api";
import { EnvironmentPicker } from "./EnvironmentPicker";

/** Automatic or a specific environment, picked in a window that shows which ones fit. */
export function EnvironmentChoice(props: {
  content: Content;
  environments: Environment[];
  canEdit: boolean;
  onSaved(content: Content): void;
}) {
  const { content } = props;
  const [mode, setMode] = useState<"automatic" | "specific">(
    content.default_environment_guid ? "specific" : "automatic",
  );
  const [chosen, setChosen] = useState<Environment | null>(
    props.environments.find((e) => e.guid === content.default_environment_guid) ?? null,
  );
  const [picking, setPicking] = useState(false);
  const [message, setMessage] = useState("");
  const changed =
    (mode === "automatic" ? null : (chosen?.guid ?? null)) !== content.default_environment_guid;
  return (
    <>
      <fieldset disabled={!props.canEdit}>
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
      <p>
        Running in:{" "}
        <span className="mono">
          {content.image_name ??
            (content.bundle_id ? "no environment (static content)" : "not deployed yet")}
        </span>
      </p>
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
          {props.canEdit && (
            <button type="button" onClick={() => setPicking(true)}>
              {chosen ? "Change…" : "Select environment…"}
            </button>
          )}
        </p>
      )}
      {changed && (
        <p className="warning">
          The content will rebuild in the new environment the next time it runs.
        </p>
      )}
      {props.canEdit && (
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
              props.onSaved(updated);
              setMessage("Saved.");
            } catch (error) {
              setMessage(describeFailure(error));
            }
          }}
        >
          Save runtime settings
        </button>
      )}
      <p role="status">{message}</p>
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
    </>
  );
}
