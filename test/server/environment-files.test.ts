import { mkdir, mkdtemp, rename, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/start.js";
import { catalogRevision } from "../../src/store/environments.js";
import { runCli } from "../support/cli.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { freshDatabase, STORE_DIALECTS } from "../support/stores.js";

const entry = (name: string, extra = "") =>
  `- name: ${name}\n  python:\n    installations:\n      - {version: 3.11.4, path: /opt/python/3.11.4/bin/python3}\n${extra}`;

/** A folder laid out like a mounted Kubernetes ConfigMap: the file is reached through ..data. */
async function configMap(
  text: string,
): Promise<{ file: string; update(text: string): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-configmap-"));
  let generation = 0;
  const publish = async (content: string) => {
    const version = `..2026_11_22_${++generation}`;
    await mkdir(path.join(dir, version));
    await writeFile(path.join(dir, version, "environments.yaml"), content);
    await symlink(version, path.join(dir, "..data_tmp"));
    await rename(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
  };
  await publish(text);
  await symlink("..data/environments.yaml", path.join(dir, "environments.yaml"));
  return { file: path.join(dir, "environments.yaml"), update: publish };
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const value = await probe();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("condition not reached within 10 s");
}

describe("environment files", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it("creates the bootstrap environments once, into an empty catalog only", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-bootstrap-"));
    const file = path.join(dir, "runtime.yaml");
    await writeFile(
      file,
      `name: Kubernetes\nimages:\n${entry("ghcr.io/org/boot:1").replace(/^/gm, "  ")}`,
    );
    server = await startTestServer("sqlite", (s) => {
      s.Launcher.ClusterDefinition = [file];
    });
    const first = await server.call("GET", "/__api__/v1/environments");
    expect(first.body.map((e: { name: string }) => e.name)).toEqual(["ghcr.io/org/boot:1"]);
    expect(first.body[0].managed_by).toBeNull();

    await writeFile(
      file,
      `name: Kubernetes\nimages:\n${entry("ghcr.io/org/boot:2").replace(/^/gm, "  ")}`,
    );
    await server.restart();
    const second = await server.call("GET", "/__api__/v1/environments");
    expect(second.body.map((e: { name: string }) => e.name)).toEqual(["ghcr.io/org/boot:1"]);
    const audit = await server.call("GET", "/__api__/v1/audit_logs?limit=100");
    expect(
      audit.body.results
        .filter((e: { user_description: string }) => e.user_description === "environments file")
        .map((e: { event_description: string }) => e.event_description),
    ).toEqual([`+ create ghcr.io/org/boot:1, from ${file}`]);
  });

  it("refuses to start on an invalid bootstrap file, naming file:line:column, and creates nothing", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-bootstrap-"));
    const file = path.join(dir, "runtime.yaml");
    await writeFile(
      file,
      "name: Kubernetes\nimages:\n  - name: ghcr.io/org/ok:1\n  - name: ghcr.io/org/bad:1\n    matching: sometimes\n",
    );
    const database = await freshDatabase("sqlite");
    database.settings.Launcher.ClusterDefinition = [file];
    await expect(startServer(database.settings)).rejects.toThrow(
      `${file}:5:15: matching must be one of any, exact, none`,
    );
    database.settings.Launcher.ClusterDefinition = [];
    const running = await startServer(database.settings);
    const rows = await running.store.db.selectFrom("environments").selectAll().execute();
    await running.close();
    await database.drop();
    expect(rows).toEqual([]);
  });

  it("applies the declarative file at start and on every ConfigMap swap, read-only through the API", async () => {
    const map = await configMap(entry("ghcr.io/org/declared:1", "  title: First\n"));
    server = await startTestServer("sqlite", (s) => {
      s.ExecutionEnvironments.ConfigFilePath = map.file;
    });
    const api = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "ghcr.io/org/api-made:1" },
    });
    const list = await server.call("GET", "/__api__/v1/environments");
    const declared = list.body.find((e: { name: string }) => e.name === "ghcr.io/org/declared:1");
    expect(declared).toMatchObject({ title: "First", managed_by: map.file });

    const put = await server.call("PUT", `/__api__/v1/environments/${declared.guid}`, {
      body: { title: "x" },
    });
    expect(put.status).toBe(409);
    expect(put.body.code).toBe(265);
    expect(put.body.error).toContain(map.file);
    for (const query of ["", "?force=true"]) {
      const removed = await server.call(
        "DELETE",
        `/__api__/v1/environments/${declared.guid}${query}`,
      );
      expect(removed.status).toBe(409);
      expect(removed.body.code).toBe(265);
    }

    await map.update(
      entry("ghcr.io/org/declared:1", "  title: Second\n") + entry("ghcr.io/org/api-made:1"),
    );
    const after = await until(
      () => server!.call("GET", `/__api__/v1/environments/${declared.guid}`),
      (r) => r.body.title === "Second",
    );
    expect(after.body.guid).toBe(declared.guid);
    const adopted = await server.call("GET", `/__api__/v1/environments/${api.body.guid}`);
    expect(adopted.body.managed_by).toBe(map.file);
    const status = await server.call("GET", "/__api__/slipway/v1/environments/file", {
      key: server.keys.publisher,
    });
    expect(status.body).toMatchObject({ file: map.file, ok: true, problems: [] });
    expect(status.body.last_changes).toContain(
      "~ adopt ghcr.io/org/api-made:1 (made through the API; python: none → 3.11.4)",
    );

    // An invalid file changes nothing and is reported; the server keeps running.
    await map.update(`${entry("ghcr.io/org/declared:1")}  matching: sometimes\n`);
    const broken = await until(
      () => server!.call("GET", "/__api__/slipway/v1/environments/file"),
      (r) => r.body.ok === false,
    );
    expect(broken.body.problems).toEqual([
      `${map.file}:5:13: matching must be one of any, exact, none`,
    ]);
    expect((await server.call("GET", `/__api__/v1/environments/${declared.guid}`)).body.title).toBe(
      "Second",
    );

    // Dropping an entry deletes it, or retires it while content uses it.
    const item = await server.call("POST", "/__api__/v1/content", {
      body: { name: "uses-declared" },
    });
    await server.call("PATCH", `/__api__/v1/content/${item.body.guid}`, {
      body: { default_environment_guid: declared.guid },
    });
    await map.update(entry("ghcr.io/org/api-made:1"));
    const retired = await until(
      () => server!.call("GET", `/__api__/v1/environments/${declared.guid}`),
      (r) => r.body.matching === "none",
    );
    expect(retired.body.managed_by).toBe(map.file);
    await map.update("[]\n");
    await until(
      () => server!.call("GET", `/__api__/v1/environments/${api.body.guid}`),
      (r) => r.status === 404,
    );

    // Each change the file made is in the audit log, beside those made through the API.
    const audit = await server.call("GET", "/__api__/v1/audit_logs?limit=100");
    const byFile = audit.body.results
      .filter((e: { user_description: string }) => e.user_description === "environments file")
      .map((e: { action: string; event_description: string }) => [e.action, e.event_description]);
    expect(byFile).toEqual([
      ["create environment", `+ create ghcr.io/org/declared:1, from ${map.file}`],
      [
        "adopt environment",
        `~ adopt ghcr.io/org/api-made:1 (made through the API; python: none → 3.11.4), from ${map.file}`,
      ],
      [
        "update environment",
        `~ update ghcr.io/org/declared:1 (title: "First" → "Second"), from ${map.file}`,
      ],
      [
        "retire environment",
        `! retire ghcr.io/org/declared:1 (still used by 1 content item; matching → none), from ${map.file}`,
      ],
      ["delete environment", `- delete ghcr.io/org/api-made:1, from ${map.file}`],
    ]);
    expect(
      audit.body.results.some((e: { action: string }) => e.action === "create /v1/environments"),
    ).toBe(true);
  });

  it("keeps running on a declarative file that is invalid at start", async () => {
    const map = await configMap("- name: [not, an, image]\n");
    server = await startTestServer("sqlite", (s) => {
      s.ExecutionEnvironments.ConfigFilePath = map.file;
    });
    const status = await server.call("GET", "/__api__/slipway/v1/environments/file");
    expect(status.body.ok).toBe(false);
    expect(status.body.problems[0]).toMatch(/environments\.yaml:1:9: name /);
    expect((await server.call("GET", "/__api__/v1/environments")).body).toEqual([]);
  });

  it("plans without applying, and a second apply writes nothing", async () => {
    const map = await configMap(entry("ghcr.io/org/planned:1"));
    server = await startTestServer("sqlite", (s) => {
      s.ExecutionEnvironments.ConfigFilePath = map.file;
    });
    const env = { CONNECT_SERVER: server.url, CONNECT_API_KEY: server.keys.administrator };
    const next = path.join(path.dirname(map.file), "next.yaml");
    await writeFile(
      next,
      entry("ghcr.io/org/planned:1", "  title: Planned\n") + entry("ghcr.io/org/extra:1"),
    );
    const planned = await runCli(["environments", "plan", next], env);
    expect(planned.stderr).toBe("");
    expect(planned.stdout).toContain("~ adopt ghcr.io/org/planned:1 (managed by");
    expect(planned.stdout).toContain("+ create ghcr.io/org/extra:1");
    expect((await server.call("GET", "/__api__/v1/environments")).body).toHaveLength(1);

    const same = await server.call(
      "POST",
      `/__api__/slipway/v1/environments/plan?source=${encodeURIComponent(map.file)}`,
      {
        body: { text: entry("ghcr.io/org/planned:1") },
      },
    );
    expect(same.body.summary).toEqual([
      "Plan: 0 to create, 0 to change (0 adopted), 0 to retire, 0 to delete, 1 unchanged.",
    ]);
    const before = await catalogRevision(server.server.store.db);
    await map.update(`# touched\n${entry("ghcr.io/org/planned:1")}`);
    await until(
      () => server!.call("GET", "/__api__/slipway/v1/environments/file"),
      (r) =>
        r.body.last_changes.at(-1)?.includes("1 unchanged") && r.body.last_changes.length === 1,
    );
    expect(await catalogRevision(server.server.store.db)).toBe(before);
  });

  for (const dialect of STORE_DIALECTS.filter((d) => d === "postgres")) {
    it("lets two servers sharing PostgreSQL apply one file at once without duplicates or errors", async () => {
      const map = await configMap(
        Array.from({ length: 30 }, (_, i) => entry(`ghcr.io/org/race:${i}`)).join(""),
      );
      const database = await freshDatabase(dialect);
      database.settings.ExecutionEnvironments.ConfigFilePath = map.file;
      const [a, b] = await Promise.all([
        startServer(database.settings),
        startServer(database.settings),
      ]);
      try {
        const rows = await a.store.db.selectFrom("environments").select("name").execute();
        expect(rows).toHaveLength(30);
        const statuses = await Promise.all(
          [a, b].map(async (s) => (await fetch(`${s.url}/__ping__`)).status),
        );
        expect(statuses).toEqual([200, 200]);
      } finally {
        await a.close();
        await b.close();
        await database.drop();
      }
    });
  }
});
