import { useState } from "react";
import { api, type RuntimeCache } from "../api";
import { LoadState, useLoad } from "../load";
import { useTitle } from "../title";
import { ConfirmDialog } from "./Dialog";

const name = (c: RuntimeCache) => `${c.language} ${c.version} cache of ${c.image_name}`;

function size(bytes: number): string {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Runtime caches: the package caches per image, language and version; administrators delete them. */
export function RuntimeCachesPage() {
  useTitle("Runtime caches");
  const load = useLoad(
    () => api<{ caches: RuntimeCache[] }>("GET", "/v1/system/caches/runtime"),
    [],
  );
  const [confirming, setConfirming] = useState<RuntimeCache | null>(null);
  const [message, setMessage] = useState("");
  return (
    <section aria-labelledby="caches-heading">
      <h1 id="caches-heading">Runtime caches</h1>
      <p className="lead">
        The Python and R packages builds installed, kept per image and version so the next build
        reuses them. A deleted cache is built again by the next deploy that needs it.
      </p>
      <p role="status">{message}</p>
      {!load.data ? (
        <LoadState load={load} what="the runtime caches" />
      ) : load.data.caches.length === 0 ? (
        <p>No runtime caches yet.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption>Runtime caches</caption>
            <thead>
              <tr>
                <th scope="col">Image</th>
                <th scope="col">Language</th>
                <th scope="col">Version</th>
                <th scope="col">Size</th>
                <th scope="col">Package sets</th>
                <th scope="col">Last used</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {load.data.caches.map((c) => (
                <tr key={`${c.image_name}-${c.language}-${c.version}`}>
                  <td className="mono">{c.image_name}</td>
                  <td>{c.language}</td>
                  <td>{c.version}</td>
                  <td>{size(c.size_bytes)}</td>
                  <td>{c.entries}</td>
                  <td>
                    {c.last_used_time ? new Date(c.last_used_time).toLocaleString() : "never"}
                  </td>
                  <td>
                    <button type="button" className="danger" onClick={() => setConfirming(c)}>
                      Delete the {name(c)}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {confirming && (
        <ConfirmDialog
          title={`Delete the ${name(confirming)}?`}
          action="Delete cache"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await api("DELETE", "/v1/system/caches/runtime", {
              language: confirming.language,
              version: confirming.version,
              image_name: confirming.image_name,
            });
            setMessage(`Deleted the ${name(confirming)}.`);
            setConfirming(null);
            load.reload();
          }}
        >
          <p>
            {size(confirming.size_bytes)} in {confirming.entries} package sets. The next build that
            needs it installs its packages again.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
