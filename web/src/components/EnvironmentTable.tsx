import type { ReactNode } from "react";
import type { Environment } from "../api";
import { matches, type SortKey, sortEnvironments, versions } from "../environment-list";

const COLUMNS: Array<[SortKey, string]> = [
  ["title", "Title"],
  ["name", "Image"],
  ["python", "Python"],
  ["r", "R"],
  ["quarto", "Quarto"],
  ["matching", "Matching"],
  ["managed_by", "Managed by"],
];

export interface TableState {
  query: string;
  sort: SortKey;
  descending: boolean;
}

export function EnvironmentTable(props: {
  environments: Environment[];
  state: TableState;
  onChange(state: TableState): void;
  caption: string;
  onOpen?(environment: Environment): void;
  extra?: { header: string; cell(environment: Environment): ReactNode };
}) {
  const { state, onChange } = props;
  const shown = sortEnvironments(
    props.environments.filter((e) => matches(e, state.query)),
    state.sort,
    state.descending,
  );
  return (
    <div className="table-block">
      <label className="search">
        <span>Search</span>
        <input
          type="search"
          value={state.query}
          placeholder="Title, description, image or version"
          onChange={(event) => onChange({ ...state, query: event.target.value })}
        />
      </label>
      <div className="table-scroll">
        <table>
          <caption className="visually-hidden">{props.caption}</caption>
          <thead>
            <tr>
              {COLUMNS.map(([key, label]) => (
                <th
                  key={key}
                  scope="col"
                  aria-sort={
                    state.sort === key ? (state.descending ? "descending" : "ascending") : "none"
                  }
                >
                  <button
                    type="button"
                    className="sort"
                    onClick={() =>
                      onChange({
                        ...state,
                        sort: key,
                        descending: state.sort === key ? !state.descending : false,
                      })
                    }
                  >
                    {label}
                    <span aria-hidden="true">
                      {state.sort === key ? (state.descending ? " ▼" : " ▲") : ""}
                    </span>
                  </button>
                </th>
              ))}
              {props.extra && <th scope="col">{props.extra.header}</th>}
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.guid} data-guid={e.guid}>
                <td>
                  {props.onOpen ? (
                    <button type="button" className="link" onClick={() => props.onOpen?.(e)}>
                      {e.title ?? e.name}
                    </button>
                  ) : (
                    (e.title ?? "")
                  )}
                </td>
                <td className="mono">{e.name}</td>
                <td>{versions(e, "python")}</td>
                <td>{versions(e, "r")}</td>
                <td>{versions(e, "quarto")}</td>
                <td>{e.matching}</td>
                <td>
                  {e.managed_by ? (
                    <span className="badge" title={e.managed_by}>
                      file
                    </span>
                  ) : (
                    ""
                  )}
                </td>
                {props.extra && <td>{props.extra.cell(e)}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="count" aria-live="polite">
        {shown.length} of {props.environments.length} environments
      </p>
    </div>
  );
}
