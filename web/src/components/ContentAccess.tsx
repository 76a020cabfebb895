import { useState } from "react";
import {
  api,
  type Content,
  type ContentPermission,
  describeFailure,
  mayChange,
  type Person,
} from "../api";
import { LoadState, useChange, useLoad } from "../load";
import { personLabel, principalNames } from "../principal-names";
import { PrincipalSearch } from "./PrincipalSearch";

const ACCESS = [
  ["all", "Anyone, no sign-in required"],
  ["logged_in", "All signed-in users"],
  ["acl", "Only the people and groups listed"],
] as const;
const ROLE_LABEL: Record<string, string> = { owner: "Collaborator", viewer: "Viewer" };

/** Access: who may view the content (access type) and who else may view or change it. */
export function ContentAccess(props: { content: Content; onSaved(content: Content): void }) {
  const c = props.content;
  const canChange = mayChange(c);
  const [accessType, setAccessType] = useState(c.access_type);
  const [message, setMessage] = useState("");
  return (
    <section aria-labelledby="access-heading" className="panel">
      <h2 id="access-heading">Access</h2>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          try {
            props.onSaved(
              await api<Content>("PATCH", `/v1/content/${c.guid}`, { access_type: accessType }),
            );
            setMessage("Saved.");
          } catch (error) {
            setMessage(describeFailure(error));
          }
        }}
      >
        <fieldset disabled={!canChange}>
          <legend>Who may view this content</legend>
          {ACCESS.map(([value, text]) => (
            <label key={value} className="radio">
              <input
                type="radio"
                name="access_type"
                value={value}
                checked={accessType === value}
                onChange={() => setAccessType(value)}
              />
              {text}
            </label>
          ))}
        </fieldset>
        {canChange && (
          <button type="submit" className="primary" disabled={accessType === c.access_type}>
            Save access
          </button>
        )}
        <p role="status">{message}</p>
      </form>
      {canChange ? (
        <Permissions content={c} />
      ) : (
        <p>You may view this content. Its owner and collaborators decide who else may.</p>
      )}
    </section>
  );
}

function Permissions(props: { content: Content }) {
  const c = props.content;
  const load = useLoad(async () => {
    const [owner, permissions] = await Promise.all([
      api<Person>("GET", `/v1/users/${c.owner_guid}`),
      api<ContentPermission[]>("GET", `/v1/content/${c.guid}/permissions`),
    ]);
    const names = await principalNames(
      permissions.map((p) => ({ guid: p.principal_guid, type: p.principal_type })),
    );
    return { owner, permissions, names };
  }, [c.guid, c.owner_guid]);
  const [role, setRole] = useState<"viewer" | "owner">("viewer");
  const { message, change: act } = useChange(load);
  if (!load.data) return <LoadState load={load} what="who has access" />;
  const { owner, permissions, names } = load.data;
  return (
    <>
      <table>
        <caption>People and groups with access</caption>
        <thead>
          <tr>
            <th scope="col">Who</th>
            <th scope="col">Role</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>{personLabel(owner)}</td>
            <td>Owner</td>
            <td />
          </tr>
          {permissions.map((p) => {
            const name = names.get(p.principal_guid) ?? p.principal_guid;
            return (
              <tr key={p.id}>
                <td>{name}</td>
                <td>
                  <select
                    aria-label={`Role of ${name}`}
                    value={p.role}
                    onChange={(e) =>
                      act(
                        () =>
                          api("PUT", `/v1/content/${c.guid}/permissions/${p.id}`, {
                            principal_guid: p.principal_guid,
                            principal_type: p.principal_type,
                            role: e.target.value,
                          }),
                        `${name} is now a ${ROLE_LABEL[e.target.value]?.toLowerCase()}.`,
                      )
                    }
                  >
                    <option value="viewer">Viewer</option>
                    <option value="owner">Collaborator</option>
                  </select>
                </td>
                <td>
                  <button
                    type="button"
                    className="danger"
                    onClick={() =>
                      act(
                        () => api("DELETE", `/v1/content/${c.guid}/permissions/${p.id}`),
                        `Removed ${name}.`,
                      )
                    }
                  >
                    Remove {name}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h3>Add people or groups</h3>
      <label>
        As
        <select name="role" value={role} onChange={(e) => setRole(e.target.value as "viewer")}>
          <option value="viewer">Viewer</option>
          <option value="owner">Collaborator</option>
        </select>
      </label>
      <PrincipalSearch
        id="access-search"
        label="Find people or groups by name"
        onPick={(p) =>
          act(
            () =>
              api("POST", `/v1/content/${c.guid}/permissions`, {
                principal_guid: p.guid,
                principal_type: p.type,
                role,
              }),
            `Added ${p.label} as a ${ROLE_LABEL[role]!.toLowerCase()}.`,
          )
        }
      />
      <p role="status">{message}</p>
    </>
  );
}
