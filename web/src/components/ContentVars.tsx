import { useState } from "react";
import { ApiFailure, api, type Content, describeFailure } from "../api";
import { LoadState, useLoad } from "../load";
import { VARIABLE_NAME } from "../patterns";

/**
 * Vars: the content's environment variables by name. Values are written, never read back;
 * each write restarts the content's running processes with the new values.
 */
export function ContentVars(props: { content: Content }) {
  const path = `/v1/content/${props.content.guid}/environment`;
  const load = useLoad(() => api<string[]>("GET", path), [path]);
  const [names, setNames] = useState<string[] | undefined>(undefined);
  const shown = names ?? load.data;
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [nameError, setNameError] = useState("");
  const [message, setMessage] = useState("");
  const write = async (changes: Array<{ name: string; value: string | null }>, done: string) => {
    try {
      setNames(await api<string[]>("PATCH", path, changes));
      setMessage(`${done} Running processes restart to apply it.`);
      return true;
    } catch (error) {
      const field = error instanceof ApiFailure ? error.body.payload?.field : undefined;
      if (field?.endsWith(".name")) setNameError(describeFailure(error));
      else setMessage(describeFailure(error));
      return false;
    }
  };
  return (
    <section aria-labelledby="vars-heading" className="panel">
      <h2 id="vars-heading">Vars</h2>
      <p>Values are never shown again once set: to change one, set it anew.</p>
      {!shown ? (
        <LoadState load={load} what="the environment variables" />
      ) : shown.length === 0 ? (
        <p>No environment variables.</p>
      ) : (
        <table>
          <caption>Environment variables</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Value</th>
              <th scope="col">Action</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((n) => (
              <tr key={n}>
                <td className="mono">{n}</td>
                <td>hidden</td>
                <td className="actions">
                  <button
                    type="button"
                    onClick={() => {
                      setName(n);
                      setValue("");
                      document.getElementById("var-value")?.focus();
                    }}
                  >
                    Change {n}
                  </button>
                  <button
                    type="button"
                    className="danger"
                    onClick={() => write([{ name: n, value: null }], `Removed ${n}.`)}
                  >
                    Remove {n}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        aria-labelledby="var-form-heading"
        onSubmit={async (event) => {
          event.preventDefault();
          if (!VARIABLE_NAME.test(name)) {
            setNameError('Letters, digits and "_", not starting with a digit.');
            return;
          }
          setNameError("");
          const done = await write([{ name, value }], `Set ${name}.`);
          if (done) {
            setName("");
            setValue("");
          }
        }}
      >
        <h3 id="var-form-heading">Set a variable</h3>
        <label>
          Name
          <input
            name="name"
            className="mono"
            autoComplete="off"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={!!nameError}
            aria-describedby="var-name-error"
          />
        </label>
        <p id="var-name-error" className="field-error">
          {nameError}
        </p>
        <label>
          Value
          <input
            id="var-value"
            name="value"
            type="password"
            autoComplete="new-password"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        <button type="submit" className="primary">
          Set variable
        </button>
      </form>
      <p role="status">{message}</p>
    </section>
  );
}
