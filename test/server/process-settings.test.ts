/**
 * Connect's process and resource settings on content, through the content API: read with
 * Connect's names (null for the server's default), written and validated, and refused when the
 * runner cannot enforce them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("process and resource settings of content", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite");
  });
  afterAll(() => server?.close());

  const patch = (guid: string, body: object) =>
    server.call("PATCH", `/__api__/v1/content/${guid}`, { key: server.keys.publisher, body });

  it("reads every setting as null until set, and keeps what is set", async () => {
    const item = await createContent(server, "settings");
    const read = (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body;
    for (const field of [
      "min_processes",
      "max_processes",
      "max_conns_per_process",
      "load_factor",
      "idle_timeout",
      "init_timeout",
      "connection_timeout",
      "read_timeout",
      "memory_limit",
      "memory_request",
      "cpu_limit",
      "cpu_request",
      "nvidia_gpu_limit",
      "amd_gpu_limit",
    ]) {
      expect(read[field], field).toBeNull();
    }
    const changed = await patch(item.guid, {
      min_processes: 1,
      max_processes: 4,
      max_conns_per_process: 10,
      load_factor: 0.25,
      idle_timeout: 30,
      init_timeout: 120,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      min_processes: 1,
      max_processes: 4,
      max_conns_per_process: 10,
      load_factor: 0.25,
      idle_timeout: 30,
      init_timeout: 120,
    });
    const reset = await patch(item.guid, { min_processes: null });
    expect(reset.body.min_processes).toBeNull();
    expect(reset.body.max_processes).toBe(4);
  });

  it.each<[string, object, string]>([
    ["a minimum above the maximum", { min_processes: 5, max_processes: 2 }, "min_processes"],
    ["a maximum of none", { max_processes: 0 }, "max_processes"],
    [
      "more processes than the server allows",
      { max_processes: 500 },
      "Scheduler.MaxProcessesLimit",
    ],
    ["a load factor over 1", { load_factor: 1.5 }, "load_factor"],
    ["a negative timeout", { idle_timeout: -1 }, "idle_timeout"],
    ["a fractional process count", { max_processes: 1.5 }, "max_processes"],
    ["a request above its limit", { cpu_limit: 1, cpu_request: 2 }, "cpu_request"],
  ])("refuses %s, naming the field", async (_, body, named) => {
    const item = await createContent(server, `refused-${Math.random().toString(36).slice(2, 8)}`);
    const refused = await patch(item.guid, body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain(named);
    // Nothing of a refused change is kept.
    const after = (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body;
    for (const field of Object.keys(body)) expect(after[field], field).toBeNull();
  });

  it("refuses resource settings the local runner cannot enforce, saying which runner can", async () => {
    const item = await createContent(server, "limited");
    for (const body of [{ memory_limit: 1 << 30 }, { cpu_limit: 2 }, { nvidia_gpu_limit: 1 }]) {
      const refused = await patch(item.guid, body);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatch(/cannot be enforced by the local runner.*\[Docker\]/);
    }
  });
});
