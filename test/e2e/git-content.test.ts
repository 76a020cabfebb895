/**
 * Git-backed content against a real repository on local disk (a file:// URL, never the
 * internet): set, read and change the repository, deploy the branch's newest commit, redeploy
 * by polling when a new commit lands, and refuse what git cannot follow, naming the field.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent, waitForTask } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const noFlask = unavailable(
  "Git-backed content tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : "Debian's python3-flask is not installed",
);

async function commitApp(repo: string, text: string): Promise<string> {
  const folder = path.join(repo, "apps", "hello");
  await mkdir(folder, { recursive: true });
  await writeFile(
    path.join(folder, "manifest.json"),
    JSON.stringify({
      version: 1,
      metadata: { appmode: "python-api", entrypoint: "app:app" },
      python: { version: "3.11.2" },
    }),
  );
  await writeFile(
    path.join(folder, "app.py"),
    `from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "${text}"\n`,
  );
  const git = (...args: string[]) =>
    execFileSync("git", [
      "-C",
      repo,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@example.invalid",
      ...args,
    ])
      .toString()
      .trim();
  git("add", "-A");
  git("commit", "-q", "-m", text);
  return git("rev-parse", "HEAD");
}

describe.skipIf(noFlask).each(STORE_DIALECTS)("git-backed content on %s", (dialect) => {
  let server: TestServer;
  let repo: string;
  let url: string;
  beforeAll(async () => {
    repo = await mkdtemp(path.join(tmpdir(), "slipway-repo-"));
    execFileSync("git", ["init", "-q", "-b", "main", repo]);
    url = `file://${repo}`;
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
      s.Git.PollingFrequency = 1;
      s.Git.AllowLocalRepositories = true;
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "py:git",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: "/usr/bin/python3.11" }] },
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  const served = async (guid: string) => {
    const response = await fetch(`${server.url}/content/${guid}/`, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    return response.status === 200 ? response.text() : `${response.status}`;
  };

  it("deploys a branch's folder, then redeploys by polling when a new commit lands", async () => {
    const first = await commitApp(repo, "v1");
    const item = await createContent(server, "from-git");
    const base = `/__api__/v1/content/${item.guid}/repository`;
    const key = server.keys.publisher;
    expect((await server.call("GET", base, { key })).status).toBe(404);

    const put = await server.call("PUT", base, {
      key,
      body: { repository: url, branch: "main", directory: "apps/hello" },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      repository: url,
      branch: "main",
      directory: "apps/hello",
      polling: false,
      last_commit: null,
    });
    expect((await server.call("GET", base, { key: server.keys.viewer })).status).toBe(403);

    const deployed = await server.call("POST", `${base}/bundle`, { key });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(202);
    expect(deployed.body.commit).toBe(first);
    const task = await waitForTask(server, deployed.body.task_id);
    expect(task.code).toBe(0);
    expect(await served(item.guid)).toBe("v1");
    expect((await server.call("GET", base, { key })).body.last_commit).toBe(first);

    const polled = await server.call("PATCH", base, { key, body: { polling: true } });
    expect(polled.body).toMatchObject({ polling: true, last_commit: first });
    const second = await commitApp(repo, "v2");
    for (let i = 0; i < 600 && (await served(item.guid)) !== "v2"; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await served(item.guid)).toBe("v2");
    const after = (await server.call("GET", base, { key })).body;
    expect(after).toMatchObject({ last_commit: second, last_error: null });

    expect((await server.call("DELETE", base, { key })).status).toBe(204);
    expect((await server.call("GET", base, { key })).status).toBe(404);
    expect(await served(item.guid)).toBe("v2");
  });

  it("refuses what git cannot follow, naming the field, and changes nothing", async () => {
    await commitApp(repo, "v3");
    const item = await createContent(server, "git-errors");
    const base = `/__api__/v1/content/${item.guid}/repository`;
    const key = server.keys.publisher;
    const good = { repository: url, branch: "main", directory: "apps/hello" };
    expect((await server.call("PUT", base, { key, body: good })).status).toBe(200);

    const cases: [object, string][] = [
      [{ repository: "ext::sh -c touch% /tmp/slipway-pwned" }, "repository"],
      [{ repository: "not a url" }, "repository"],
      [{ repository: `file://${repo}-missing` }, "repository"],
      [{ repository: `file://${tmpdir()}` }, "repository"],
      [{ repository: url, branch: "no-such-branch" }, "branch"],
      [{ repository: url, branch: "-c" }, "branch"],
      [{ repository: url, directory: "../outside" }, "directory"],
      [{ repository: url, directory: "/etc" }, "directory"],
    ];
    for (const [body, field] of cases) {
      const refused = await server.call("PUT", base, { key, body });
      expect(refused.status, JSON.stringify(body)).toBe(400);
      expect(refused.body.payload, JSON.stringify(body)).toEqual({ field });
      expect(typeof refused.body.error).toBe("string");
    }
    expect(existsSync("/tmp/slipway-pwned")).toBe(false);
    expect((await server.call("GET", base, { key })).body).toMatchObject(good);

    const missingFolder = await server.call("PATCH", base, {
      key,
      body: { directory: "apps/missing" },
    });
    expect(missingFolder.status).toBe(200);
    const failed = await server.call("POST", `${base}/bundle`, { key });
    expect(failed.status).toBe(400);
    expect(failed.body.payload).toEqual({ field: "directory" });

    expect((await server.call("PUT", base, { key: server.keys.viewer, body: good })).status).toBe(
      403,
    );
    const other = await createContent(server, "no-repo");
    const none = await server.call("POST", `/__api__/v1/content/${other.guid}/repository/bundle`, {
      key,
    });
    expect(none.status).toBe(404);
  });

  it("refuses file:// repositories unless [Git] AllowLocalRepositories is on", async () => {
    const strict = await startTestServer(dialect);
    try {
      const item = await createContent(strict, "local-refused");
      const refused = await strict.call("PUT", `/__api__/v1/content/${item.guid}/repository`, {
        key: strict.keys.publisher,
        body: { repository: url },
      });
      expect(refused.status).toBe(400);
      expect(refused.body.payload).toEqual({ field: "repository" });
      expect(refused.body.error).toContain("AllowLocalRepositories");
    } finally {
      await strict.close();
    }
  });
});
