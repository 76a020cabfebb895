/**
 * Multipart bundle uploads with metadata, on both stores: the form rsconnect-python sends
 * from a git checkout once the server reports 2025.12 (an `archive` file part and a
 * `metadata` JSON part with source, source_repo, source_branch, source_commit, from its
 * git_metadata.py), and the bundle's `metadata` as posit-sdk's BundleMetadata reads it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { createContent, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const GIT = {
  source: "git",
  source_repo: "https://github.com/example/report.git",
  source_branch: "main",
  source_commit: "4056dd699b6ff2af033bab425ef81eea23c627bf",
};
const archive = () =>
  tarGz([
    manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
    { path: "index.html", content: "<p>hi</p>" },
  ]);

/** A bundle, or Connect's error shape. */
interface Answer {
  id: string;
  metadata: Record<string, string | null>;
  code?: number;
  error: string;
  payload?: Record<string, unknown>;
}

describe.each(STORE_DIALECTS)("multipart bundle uploads (%s)", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(() => server?.close());

  const send = (guid: string, form: FormData, key = server.keys.publisher) =>
    fetch(`${server.url}/__api__/v1/content/${guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${key}` },
      body: form,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Answer }));
  const bundleCount = async (guid: string) =>
    (
      await server.call("GET", `/__api__/v1/content/${guid}/bundles`, {
        key: server.keys.publisher,
      })
    ).body.length;

  it("keeps the git metadata sent before or after the archive, and returns it", async () => {
    const item = await createContent(server, "git-meta");
    for (const metadataFirst of [true, false]) {
      const form = new FormData();
      const file = new Blob([new Uint8Array(archive())], { type: "application/gzip" });
      if (metadataFirst) form.append("metadata", JSON.stringify(GIT));
      form.append("archive", file, "bundle.tar.gz");
      if (!metadataFirst) form.append("metadata", JSON.stringify({ ...GIT, source_branch: "dev" }));
      const uploaded = await send(item.guid, form);
      expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(200);
      const expected = metadataFirst ? GIT : { ...GIT, source_branch: "dev" };
      expect(uploaded.body.metadata).toEqual(expected);
      const fetched = await server.call(
        "GET",
        `/__api__/v1/content/${item.guid}/bundles/${uploaded.body.id}`,
        { key: server.keys.publisher },
      );
      expect(fetched.body.metadata).toEqual(expected);
    }
    // A plain upload has every field, null.
    const plain = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: archive(),
    });
    expect(((await plain.json()) as Answer).metadata).toEqual({
      source: null,
      source_repo: null,
      source_branch: null,
      source_commit: null,
    });
  });

  it("refuses a form without its archive, bad metadata and unknown parts, keeping no bundle", async () => {
    const item = await createContent(server, "git-meta-bad");
    const withArchive = (extra: (form: FormData) => void) => {
      const form = new FormData();
      form.append("archive", new Blob([new Uint8Array(archive())]), "bundle.tar.gz");
      extra(form);
      return form;
    };
    const onlyMetadata = new FormData();
    onlyMetadata.append("metadata", JSON.stringify(GIT));
    const cases: Array<{ form: FormData; field: string; mentions: string }> = [
      { form: onlyMetadata, field: "archive", mentions: 'no "archive" part' },
      {
        form: withArchive((f) => f.append("metadata", "{not json")),
        field: "metadata",
        mentions: "not JSON",
      },
      {
        form: withArchive((f) => f.append("metadata", JSON.stringify({ colour: "red" }))),
        field: "metadata.colour",
        mentions: "unknown field",
      },
      {
        form: withArchive((f) => f.append("metadata", JSON.stringify({ source_commit: 7 }))),
        field: "metadata.source_commit",
        mentions: "must be a string",
      },
      {
        form: withArchive((f) => f.append("extra", "x")),
        field: "extra",
        mentions: 'part named "extra"',
      },
    ];
    for (const { form, field, mentions } of cases) {
      const answer = await send(item.guid, form);
      expect(answer.status, mentions).toBe(400);
      expect(answer.body).toMatchObject({ code: expect.any(Number), payload: { field } });
      expect(answer.body.error).toContain(mentions);
    }
    expect(await bundleCount(item.guid)).toBe(0);
    // The archive part goes through the same checks as a plain upload.
    const broken = new FormData();
    broken.append("archive", new Blob([new Uint8Array([1, 2, 3])]), "bundle.tar.gz");
    const refused = await send(item.guid, broken);
    expect(refused.status).toBe(400);
    expect(await bundleCount(item.guid)).toBe(0);
    // Viewers may not upload, multipart or not.
    const form = withArchive(() => {});
    expect((await send(item.guid, form, server.keys.viewer)).status).toBe(403);
  });
});
