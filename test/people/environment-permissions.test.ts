import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/users/accounts.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const python = (version: string) => ({
  installations: [{ version, path: `/opt/python/${version}/bin/python3` }],
});
const manifest = {
  metadata: { appmode: "python-api", entrypoint: "app:app" },
  python: { version: "3.12.1", package_manager: { name: "pip", package_file: "requirements.txt" } },
};

describe.each(STORE_DIALECTS)("environment permissions on %s", (dialect) => {
  let server: TestServer;
  let pia: string;
  let restricted: string;
  let open: string;
  let group: string;
  let piaGuid: string;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    pia = (await createUser(server.server.store, "pia", "publisher")).apiKey;
    piaGuid = (await server.call("GET", "/__api__/v1/user", { key: pia })).body.guid;
    // The restricted environment is the better fit, so only the permission keeps it out.
    restricted = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "org/gpu:3.12", title: "GPU", python: python("3.12.1") },
      })
    ).body.guid;
    open = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "org/py:3.12", python: python("3.12.0") },
      })
    ).body.guid;
    group = (await server.call("POST", "/__api__/v1/groups", { body: { name: "gpu-users" } })).body
      .guid;
    await server.call("POST", `/__api__/v1/groups/${group}/members`, {
      body: { user_guid: piaGuid },
    });
  }, 60_000);
  afterAll(() => server?.close());

  const select = (key: string, body: object) =>
    server.call("POST", "/__api__/slipway/v1/selection", { key, body });
  const listed = async (key: string) =>
    (await server.call("GET", "/__api__/v1/environments", { key })).body.map(
      (e: { guid: string }) => e.guid,
    );

  it("leaves an environment without permissions open to every publisher", async () => {
    const none = await server.call("GET", `/__api__/v1/environments/${restricted}/permissions`);
    expect(none).toMatchObject({ status: 200, body: [] });
    const chosen = await select(server.keys.publisher, { manifest });
    expect(chosen.body.environment.guid).toBe(restricted);
  });

  it("restricts it to the users and groups named, as rsconnect adds them", async () => {
    const byGroup = await server.call(
      "POST",
      `/__api__/v1/environments/${restricted}/permissions`,
      {
        body: { group_guid: group },
      },
    );
    expect(byGroup.status).toBe(200);
    expect(byGroup.body).toMatchObject({
      guid: expect.any(String),
      environment_guid: restricted,
      user_guid: null,
      group_guid: group,
    });
    const one = await server.call(
      "GET",
      `/__api__/v1/environments/${restricted}/permissions/${byGroup.body.guid}`,
    );
    expect(one.body).toEqual(byGroup.body);

    // pat is in no group named: the restricted environment is out of the list and of selection.
    expect(await listed(server.keys.publisher)).toEqual([open]);
    expect(await listed(pia)).toEqual([restricted, open]);
    expect(await listed(server.keys.administrator)).toEqual([restricted, open]);
    // Nor does pat find it by its guid: it answers as one that does not exist.
    const byGuid = (key: string) =>
      server.call("GET", `/__api__/v1/environments/${restricted}`, { key });
    expect(await byGuid(server.keys.publisher)).toMatchObject({ status: 404, body: { code: 4 } });
    expect(await byGuid(pia)).toMatchObject({ status: 200, body: { guid: restricted } });
    const forPat = await select(server.keys.publisher, { manifest });
    expect(forPat.body.environment.guid).toBe(open);
    const row = forPat.body.explanation.find(
      (e: { environment_guid: string }) => e.environment_guid === restricted,
    );
    expect(row).toMatchObject({ verdict: "excluded", detail: "not permitted for this publisher" });
    expect((await select(pia, { manifest })).body.environment.guid).toBe(restricted);

    // The runtime-settings picker judges each environment for the content's owner.
    const item = await createContent(server, "gpu-report");
    const each = await select(server.keys.administrator, {
      manifest,
      content_guid: item.guid,
      each: true,
    });
    const judged = each.body.explanation.find(
      (e: { environment_guid: string }) => e.environment_guid === restricted,
    );
    expect(judged.verdict).toBe("excluded");
    expect(judged.detail).toContain("not permitted for this publisher");

    // Nor can pat pin it, or make it the content's default.
    const pinned = await select(server.keys.publisher, {
      manifest: { ...manifest, environment: { image: "org/gpu:3.12" } },
    });
    expect(pinned.body.ok).toBe(false);
    expect(pinned.body.error.code).toBe(108);
    const asDefault = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: restricted },
    });
    expect(asDefault).toMatchObject({ status: 403, body: { code: 108 } });
    const byImage = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_image_name: "org/gpu:3.12" },
    });
    expect(byImage.status).toBe(403);
    // Not even an administrator sets it as the default of pat's content.
    const byAdmin = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      body: { default_environment_guid: restricted },
    });
    expect(byAdmin.status).toBe(403);

    // A deploy of pat's content selects the open environment and says why not the other.
    const { task } = await deploy(server, item.guid, [
      manifestEntry(manifest),
      { path: "app.py", content: "app = None\n" },
      { path: "requirements.txt", content: "" },
    ]);
    const log = task.output.join("\n");
    expect(log).toMatch(/org\/gpu:3\.12.*not permitted for this publisher/);
    expect(log).toMatch(/org\/py:3\.12\s+chosen/);

    const user = await server.call("POST", `/__api__/v1/environments/${restricted}/permissions`, {
      body: { user_guid: piaGuid },
    });
    expect(user.status).toBe(200);
    await server.call("DELETE", `/__api__/v1/groups/${group}/members/${piaGuid}`);
    expect(await listed(pia)).toEqual([restricted, open]);
    await server.call(
      "DELETE",
      `/__api__/v1/environments/${restricted}/permissions/${user.body.guid}`,
    );
    expect(await listed(pia)).toEqual([open]);
    await server.call(
      "DELETE",
      `/__api__/v1/environments/${restricted}/permissions/${byGroup.body.guid}`,
    );
    // With no permissions left, it is open again.
    expect(await listed(server.keys.publisher)).toEqual([restricted, open]);
  });

  it("refuses bad permissions with clear 4xx answers", async () => {
    const path = `/__api__/v1/environments/${open}/permissions`;
    const ghost = await server.call("POST", path, {
      body: { user_guid: "00000000-0000-0000-0000-000000000000" },
    });
    expect(ghost).toMatchObject({ status: 404, body: { code: 25 } });
    const kind = await server.call("POST", path, {
      body: { user_guid: piaGuid, group_guid: group },
    });
    expect(kind).toMatchObject({ status: 400, body: { code: 25 } });
    await server.call("POST", path, { body: { user_guid: piaGuid } });
    const twice = await server.call("POST", path, {
      body: { user_guid: piaGuid },
    });
    expect(twice).toMatchObject({ status: 409, body: { code: 25 } });
    const byPublisher = await server.call("POST", path, {
      key: server.keys.publisher,
      body: { user_guid: piaGuid },
    });
    expect(byPublisher.status).toBe(403);
    const unknown = await server.call(
      "GET",
      "/__api__/v1/environments/00000000-0000-0000-0000-000000000000/permissions",
    );
    expect(unknown).toMatchObject({ status: 404, body: { code: 4 } });
    expect((await server.call("DELETE", `${path}/nope`)).status).toBe(404);
    expect((await server.call("GET", path)).body).toHaveLength(1);
  });
});
