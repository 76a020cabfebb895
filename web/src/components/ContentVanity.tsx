import { useState } from "react";
import { ApiFailure, api, type Content, describeFailure, type Vanity } from "../api";
import { useLoad } from "../load";

/** The content's vanity URL: a path of this server that leads to it. */
export function ContentVanity(props: { content: Content; canChange: boolean }) {
  const path = `/v1/content/${props.content.guid}/vanity`;
  const [round, setRound] = useState(0);
  // "No vanity URL" is a 404, the normal answer for most content.
  const load = useLoad(
    () =>
      api<Vanity>("GET", path).catch((error: unknown) => {
        if (error instanceof ApiFailure && error.status === 404) return null;
        throw error;
      }),
    [path, round],
  );
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const [message, setMessage] = useState("");
  const current = load.data;
  const origin = window.location.origin;
  return (
    <div className="vanity">
      <p>
        Vanity URL:{" "}
        {current === undefined ? (
          load.error ? (
            <span role="alert">could not load it: {load.error}</span>
          ) : (
            "…"
          )
        ) : current === null ? (
          "none"
        ) : (
          <a href={`${origin}${current.path}`}>{`${origin}${current.path}`}</a>
        )}
      </p>
      {props.canChange && (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            setError("");
            setMessage("");
            try {
              await api("PUT", path, { path: text });
              setText("");
              setMessage("Vanity URL saved.");
              setRound((r) => r + 1);
            } catch (failure) {
              setError(describeFailure(failure));
            }
          }}
        >
          <label>
            New vanity path
            <input
              name="vanity"
              value={text}
              placeholder="/team/report/"
              onChange={(e) => setText(e.target.value)}
              aria-invalid={!!error}
              aria-describedby="vanity-error"
            />
          </label>
          <p id="vanity-error" className="field-error">
            {error}
          </p>
          <div className="actions">
            <button type="submit" disabled={text.trim() === ""}>
              Set vanity URL
            </button>
            {current && (
              <button
                type="button"
                className="danger"
                onClick={async () => {
                  try {
                    await api("DELETE", path);
                    setMessage("Vanity URL removed.");
                    setRound((r) => r + 1);
                  } catch (failure) {
                    setError(describeFailure(failure));
                  }
                }}
              >
                Remove vanity URL
              </button>
            )}
          </div>
          <p role="status">{message}</p>
        </form>
      )}
    </div>
  );
}
