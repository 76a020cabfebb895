import { useCallback, useEffect, useState } from "react";
import { api, type Environment, type User } from "../api";
import { SORT_KEYS, type SortKey } from "../environment-list";
import { navigate, type Route, replaceQuery } from "../route";
import { EnvironmentDetail } from "./EnvironmentDetail";
import { EnvironmentForm } from "./EnvironmentForm";
import { EnvironmentTable, type TableState } from "./EnvironmentTable";
import { RetiredEnvironments } from "./RetiredEnvironments";

export function tableState(route: Route): TableState {
  const sort = route.query.get("sort") as SortKey | null;
  return {
    query: route.query.get("q") ?? "",
    sort: sort && SORT_KEYS.includes(sort) ? sort : "title",
    descending: route.query.get("order") === "desc",
  };
}

export function EnvironmentsPage(props: { user: User; route: Route }) {
  const [environments, setEnvironments] = useState<Environment[] | null>(null);
  const [editing, setEditing] = useState<Environment | "new" | null>(null);
  const [message, setMessage] = useState("");
  const load = useCallback(
    () => api<Environment[]>("GET", "/v1/environments").then(setEnvironments),
    [],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const admin = props.user.user_role === "administrator";
  const open = props.route.path.startsWith("/environments/")
    ? props.route.path.split("/")[2]
    : undefined;
  const selected = environments?.find((e) => e.guid === open);

  if (!environments) return <p>Loading environments…</p>;
  if (selected) {
    return (
      <EnvironmentDetail
        environment={selected}
        admin={admin}
        onEdit={() => setEditing(selected)}
        onRemoved={async () => {
          await load();
          navigate("/environments");
        }}
        editor={
          editing && editing !== "new" ? (
            <EnvironmentForm
              environment={editing}
              onClose={() => setEditing(null)}
              onSaved={async () => {
                setEditing(null);
                await load();
              }}
            />
          ) : null
        }
      />
    );
  }
  return (
    <section aria-labelledby="environments-heading">
      <div className="heading-row">
        <h1 id="environments-heading">Environments</h1>
        {admin && (
          <button type="button" className="primary" onClick={() => setEditing("new")}>
            Add environment
          </button>
        )}
      </div>
      <p className="lead">
        The container images content can build and run in, and the Python, R and Quarto each one
        holds.
      </p>
      <p role="status">{message}</p>
      <EnvironmentTable
        caption="Execution environments"
        environments={environments}
        state={tableState(props.route)}
        onChange={(s) =>
          replaceQuery(props.route, {
            q: s.query,
            sort: s.sort,
            order: s.descending ? "desc" : undefined,
          })
        }
        onOpen={(e) => navigate(`/environments/${e.guid}`)}
      />
      <RetiredEnvironments admin={admin} onRestored={load} />
      {editing === "new" && (
        <EnvironmentForm
          onClose={() => setEditing(null)}
          onSaved={async (saved) => {
            setEditing(null);
            setMessage(`Added ${saved.name}.`);
            await load();
          }}
        />
      )}
    </section>
  );
}
