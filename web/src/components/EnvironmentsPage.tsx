import { useEffect, useState } from "react";
import { api, type Environment, type User } from "../api";
import { SORT_KEYS, type SortKey } from "../environment-list";
import { LoadState, useLoad } from "../load";
import { navigate, type Route, replaceQuery } from "../route";
import { useTitle } from "../title";
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
  const loaded = useLoad(() => api<Environment[]>("GET", "/v1/environments"), []);
  const [environments, setEnvironments] = useState<Environment[] | undefined>(undefined);
  useEffect(() => setEnvironments(loaded.data), [loaded.data]);
  const [editing, setEditing] = useState<Environment | "new" | null>(null);
  const [message, setMessage] = useState("");
  const load = () => api<Environment[]>("GET", "/v1/environments").then(setEnvironments);
  const admin = props.user.user_role === "administrator";
  const open = props.route.path.startsWith("/environments/")
    ? props.route.path.split("/")[2]
    : undefined;
  const selected = environments?.find((e) => e.guid === open);

  useTitle(selected ? `${selected.title ?? selected.name} · Environments` : "Environments");
  if (!environments) return <LoadState load={loaded} what="environments" />;
  if (open && !selected) {
    return (
      <div role="alert">
        <h1>No such environment</h1>
        <p>
          There is no environment {open}. <a href="#/environments">All environments</a>
        </p>
      </div>
    );
  }
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
