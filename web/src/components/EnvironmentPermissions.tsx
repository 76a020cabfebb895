import { api, type EnvironmentPermission } from "../api";
import { LoadState, useChange, useLoad } from "../load";
import { principalNames } from "../principal-names";
import { PrincipalSearch } from "./PrincipalSearch";

/** Who may use an environment; with nobody listed, every publisher may. Administrators only. */
export function EnvironmentPermissions(props: { environmentGuid: string }) {
  const path = `/v1/environments/${props.environmentGuid}/permissions`;
  const load = useLoad(async () => {
    const permissions = await api<EnvironmentPermission[]>("GET", path);
    const names = await principalNames(
      permissions.map((p) => ({
        guid: (p.user_guid ?? p.group_guid)!,
        type: p.user_guid ? "user" : "group",
      })),
    );
    return { permissions, names };
  }, [path]);
  const { message, change: act } = useChange(load);
  return (
    <section aria-labelledby="environment-permissions-heading">
      <h2 id="environment-permissions-heading">Who may use it</h2>
      {!load.data ? (
        <LoadState load={load} what="who may use it" />
      ) : load.data.permissions.length === 0 ? (
        <p>
          Every publisher may use this environment. Add people or groups to restrict it to them.
        </p>
      ) : (
        <ul className="plain" aria-label="May use this environment">
          {load.data.permissions.map((p) => {
            const guid = (p.user_guid ?? p.group_guid)!;
            const name = load.data!.names.get(guid) ?? guid;
            return (
              <li key={p.guid}>
                {name}{" "}
                <button
                  type="button"
                  className="danger"
                  onClick={() =>
                    act(() => api("DELETE", `${path}/${p.guid}`), `${name} may no longer use it.`)
                  }
                >
                  Remove {name}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <PrincipalSearch
        id="environment-permission-search"
        label="Let people or groups use it: find them by name"
        onPick={(p) =>
          act(
            () =>
              api("POST", path, p.type === "user" ? { user_guid: p.guid } : { group_guid: p.guid }),
            `${p.label} may use it.`,
          )
        }
      />
      <p role="status">{message}</p>
    </section>
  );
}
