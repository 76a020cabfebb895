import { useEffect, useState } from "react";

/** Hash routes (#/environments?q=py&sort=name) keep pages, search and sort across reloads. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function read(): Route {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { path: path || "/", query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

export function navigate(path: string, query?: Record<string, string | undefined>): void {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) if (value) params.set(key, value);
  const text = params.toString();
  window.location.hash = `#${path}${text ? `?${text}` : ""}`;
}

/** Replaces the query of the current route without adding a history entry per keystroke. */
export function replaceQuery(route: Route, changes: Record<string, string | undefined>): void {
  const params = new URLSearchParams(route.query);
  for (const [key, value] of Object.entries(changes)) {
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const text = params.toString();
  history.replaceState(null, "", `#${route.path}${text ? `?${text}` : ""}`);
  window.dispatchEvent(new HashChangeEvent("hashchange"));
}
