import { type ReactNode, useState } from "react";
import { api, type Content, type Environment, RUNTIME_LABEL, RUNTIMES } from "../api";
import { LoadState, useLoad } from "../load";
import { navigate } from "../route";
import { ConfirmDialog } from "./Dialog";
import { EnvironmentPermissions } from "./EnvironmentPermissions";

export function EnvironmentDetail(props: {
  environment: Environment;
  admin: boolean;
  onEdit(): void;
  onRemoved(): void;
  editor: ReactNode;
}) {
  const e = props.environment;
  const usersLoad = useLoad(
    () =>
      api<Content[]>("GET", "/v1/content").then((all) =>
        all.filter((c) => c.environment_guid === e.guid || c.default_environment_guid === e.guid),
      ),
    [e.guid],
  );
  const users = usersLoad.data ?? [];
  const [confirming, setConfirming] = useState(false);
  const readOnly = Boolean(e.managed_by);
  return (
    <section aria-labelledby="environment-heading">
      <p>
        <button type="button" className="link" onClick={() => navigate("/environments")}>
          ← All environments
        </button>
      </p>
      <h1 id="environment-heading">{e.title ?? e.name}</h1>
      <dl className="facts">
        <dt>Image</dt>
        <dd className="mono">{e.name}</dd>
        <dt>Description</dt>
        <dd>{e.description ?? "—"}</dd>
        <dt>Matching</dt>
        <dd>{e.matching}</dd>
        <dt>Supervisor</dt>
        <dd className="mono">{e.supervisor ?? "—"}</dd>
        {readOnly && (
          <>
            <dt>Managed by</dt>
            <dd>
              <span className="badge">file</span> {e.managed_by}: change it there; it is read-only
              here.
            </dd>
          </>
        )}
      </dl>
      <h2>Installations</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Runtime</th>
            <th scope="col">Version</th>
            <th scope="col">Path</th>
          </tr>
        </thead>
        <tbody>
          {RUNTIMES.flatMap((r) =>
            (e[r]?.installations ?? []).map((i) => (
              <tr key={`${r}-${i.version}-${i.path}`}>
                <td>{RUNTIME_LABEL[r]}</td>
                <td>{i.version}</td>
                <td className="mono">{i.path}</td>
              </tr>
            )),
          )}
        </tbody>
      </table>
      <h2>Content using it</h2>
      {!usersLoad.data ? (
        <LoadState load={usersLoad} what="the content using it" />
      ) : users.length === 0 ? (
        <p>No content uses this environment.</p>
      ) : (
        <ul>
          {users.map((c) => (
            <li key={c.guid}>
              <a href={`#/content/${c.guid}`}>{c.title ?? c.name}</a>
            </li>
          ))}
        </ul>
      )}
      {props.admin && <EnvironmentPermissions environmentGuid={e.guid} />}
      {props.admin && !readOnly && (
        <div className="actions">
          <button type="button" onClick={props.onEdit}>
            Edit
          </button>
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Remove
          </button>
        </div>
      )}
      {props.editor}
      {confirming && (
        <ConfirmDialog
          title={`Remove ${e.name}?`}
          action="Remove environment"
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            await api("DELETE", `/v1/environments/${e.guid}`);
            setConfirming(false);
            props.onRemoved();
          }}
        >
          <p>
            {users.length === 0
              ? "No content uses this environment. Content can no longer be deployed to it once it is removed."
              : `${users.length} content ${users.length === 1 ? "item uses" : "items use"} this environment: it is retired rather than deleted, and they keep running in it, then select another environment on their next deploy.`}
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
