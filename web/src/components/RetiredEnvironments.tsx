import { useCallback, useEffect, useState } from "react";
import { api, describeFailure, type Environment } from "../api";

type Retired = Environment & { retired_time: string; matching_before: string };

/**
 * Environments a delete retired because content still used them: gone from the catalog, but
 * kept for the content running in them, and restorable by an administrator.
 */
export function RetiredEnvironments(props: { admin: boolean; onRestored(): void }) {
  const [retired, setRetired] = useState<Retired[]>([]);
  const [message, setMessage] = useState("");
  const load = useCallback(
    () => api<Retired[]>("GET", "/slipway/v1/environments/retired").then(setRetired, () => {}),
    [],
  );
  useEffect(() => {
    void load();
  }, [load]);
  if (retired.length === 0) return null;
  return (
    <section aria-labelledby="retired-heading">
      <h2 id="retired-heading">Retired environments</h2>
      <p>Removed while content used them: running content keeps them; new deploys do not.</p>
      <p role="alert" className="field-error">
        {message}
      </p>
      <table>
        <caption>Retired environments</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Image</th>
            <th scope="col">Retired</th>
            {props.admin && <th scope="col">Action</th>}
          </tr>
        </thead>
        <tbody>
          {retired.map((e) => (
            <tr key={e.guid}>
              <td>{e.title ?? e.name}</td>
              <td>
                <code>{e.name}</code>
              </td>
              <td>{new Date(e.retired_time).toLocaleString()}</td>
              {props.admin && (
                <td>
                  <button
                    type="button"
                    onClick={async () => {
                      try {
                        await api("POST", `/slipway/v1/environments/retired/${e.guid}/restore`);
                        setMessage("");
                        await load();
                        props.onRestored();
                      } catch (error) {
                        setMessage(describeFailure(error));
                      }
                    }}
                  >
                    Restore {e.title ?? e.name}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
