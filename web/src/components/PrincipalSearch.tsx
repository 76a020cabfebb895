import { useState } from "react";
import { api, describeFailure, type Group, type Paged, type Person } from "../api";
import { personLabel } from "../principal-names";

export interface Principal {
  guid: string;
  type: "user" | "group";
  label: string;
}

/** Finds users (by username, first or last name, email) and groups by what their names start with. */
export function PrincipalSearch(props: {
  id: string;
  label: string;
  onPick(principal: Principal): void;
}) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Principal[] | null>(null);
  const [error, setError] = useState("");
  const search = async () => {
    setError("");
    const prefix = encodeURIComponent(query.trim());
    try {
      const [users, groups] = await Promise.all([
        api<Paged<Person>>("GET", `/v1/users?prefix=${prefix}&page_size=20`),
        api<Paged<Group>>("GET", `/v1/groups?prefix=${prefix}&page_size=20`),
      ]);
      setFound([
        ...users.results.map((u) => ({
          guid: u.guid,
          type: "user" as const,
          label: personLabel(u),
        })),
        ...groups.results.map((g) => ({
          guid: g.guid,
          type: "group" as const,
          label: `${g.name} (group)`,
        })),
      ]);
    } catch (failure) {
      setError(describeFailure(failure));
    }
  };
  return (
    <div className="principal-search">
      <label htmlFor={props.id}>{props.label}</label>
      <div className="search-row">
        <input
          id={props.id}
          type="search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              void search();
            }
          }}
        />
        <button type="button" onClick={() => void search()}>
          Search
        </button>
      </div>
      <p role="alert" className="field-error">
        {error}
      </p>
      {found &&
        (found.length === 0 ? (
          <p role="status">Nobody matches “{query}”.</p>
        ) : (
          <ul className="plain" aria-label="Search results">
            {found.map((p) => (
              <li key={`${p.type}-${p.guid}`}>
                <button type="button" onClick={() => props.onPick(p)}>
                  Add {p.label}
                </button>
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}
