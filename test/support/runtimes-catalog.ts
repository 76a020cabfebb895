/**
 * A catalog and a content set built for the runtimes coverage report: needs that several
 * environments serve, one that only a version-matching rule lets through, one served only
 * by an environment that also carries another runtime, and one that only a retired
 * environment could serve.
 */
import { tarGz } from "./bundles.js";
import type { TestServer } from "./server.js";

const installs = (runtime: string, ...versions: string[]) => ({
  installations: versions.map((v) => ({ version: v, path: `/opt/${runtime}/${v}/bin/${runtime}` })),
});

export const COVERAGE_CATALOG = [
  { name: "org/cov-py:3.10", title: "Py 3.10", python: installs("python", "3.10.12") },
  { name: "org/cov-py:3.11", title: "Py 3.11", python: installs("python", "3.11.4") },
  {
    name: "org/cov-r:4.3",
    title: "R 4.3",
    r: installs("R", "4.3.1"),
    python: installs("python", "3.11.5"),
  },
  {
    name: "org/cov-quarto:1.4",
    title: "Quarto 1.4",
    quarto: installs("quarto", "1.4.550"),
    python: installs("python", "3.12.1"),
  },
  {
    name: "org/cov-old:3.8",
    title: "Old 3.8",
    matching: "none",
    python: installs("python", "3.8.10"),
  },
];

const api = (python: string) => ({
  metadata: { appmode: "python-api", entrypoint: "app:app" },
  python: { version: python },
});

export const COVERAGE_CONTENT: Record<string, object | null> = {
  "cov-flask-a": api("3.11.7"),
  "cov-flask-b": api("3.11.7"),
  "cov-dash": {
    metadata: { appmode: "python-dash", entrypoint: "app" },
    python: { version: "3.12.2" },
  },
  "cov-shiny": { metadata: { appmode: "shiny", entrypoint: "app.R" }, platform: "4.3.2" },
  "cov-report": {
    metadata: { appmode: "quarto-static", entrypoint: "report.qmd" },
    quarto: { version: "1.4.550", engines: ["jupyter"] },
    python: { version: "3.12.2" },
  },
  "cov-legacy": api("3.8.10"),
  // Never deployed: no active bundle, so it needs nothing yet.
  "cov-draft": null,
};

/** Creates the catalog and the content, each deployed item with its manifest as its active bundle. */
export async function seedCoverage(server: TestServer): Promise<void> {
  for (const body of COVERAGE_CATALOG) {
    const made = await server.call("POST", "/__api__/v1/environments", { body });
    if (made.status !== 200)
      throw new Error(`environment ${body.name}: ${JSON.stringify(made.body)}`);
  }
  for (const [name, manifest] of Object.entries(COVERAGE_CONTENT)) {
    const item = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name },
    });
    if (!manifest) continue;
    const upload = await fetch(`${server.url}/__api__/v1/content/${item.body.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: tarGz([
        { path: "manifest.json", content: JSON.stringify({ version: 1, ...manifest }) },
      ]),
    });
    const { id } = (await upload.json()) as { id: string };
    // Activating the bundle is what a successful deploy does last; building these runtimes
    // for real would need every one of them installed, and the report reads only the manifest.
    await server.server.store.db
      .updateTable("content")
      .set({ bundle_id: Number(id) })
      .where("guid", "=", item.body.guid)
      .execute();
  }
}
