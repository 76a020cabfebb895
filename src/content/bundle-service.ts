/**
 * Bundles: the uploaded archive is kept as it came (for download) and unpacked beside it.
 * An upload either ends as a recorded bundle with both on disk, or leaves nothing behind.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { contentNeeds, parseManifest } from "../environments/manifest.js";
import { ApiError } from "../errors.js";
import {
  type BundleRow,
  deleteBundle,
  findBundle,
  insertBundle,
  listBundles,
} from "../store/bundles.js";
import type { ContentRow } from "../store/content.js";
import type { Store } from "../store/database.js";
import { readManifestText, unpackBundle } from "./bundle-archive.js";
import type { Bundle } from "./model.js";

export interface BundleLimits {
  maxBytes: number;
  maxFiles: number;
}

export class BundleService {
  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly limits: BundleLimits,
  ) {}

  contentDir(contentGuid: string): string {
    return path.join(this.dataDir, "content", contentGuid);
  }

  archivePath(bundle: Pick<BundleRow, "content_guid" | "id">): string {
    return path.join(this.contentDir(bundle.content_guid), "bundles", `${bundle.id}.tar.gz`);
  }

  /** Where the bundle's files are unpacked. */
  filesPath(bundle: Pick<BundleRow, "content_guid" | "id">): string {
    return path.join(this.contentDir(bundle.content_guid), "bundles", String(bundle.id));
  }

  async upload(content: ContentRow, body: Readable, checksum?: string): Promise<BundleRow> {
    const staging = path.join(this.dataDir, "staging", randomUUID());
    await mkdir(staging, { recursive: true });
    try {
      const archive = path.join(staging, "bundle.tar.gz");
      const { size, md5 } = await this.#receive(body, archive);
      if (checksum && checksum !== md5) {
        throw new ApiError(
          "badRequest",
          `The bundle's MD5 checksum is ${md5}, not the ${checksum} sent in X-Content-Checksum.`,
        );
      }
      const files = path.join(staging, "files");
      await unpackBundle(createReadStream(archive), files, this.limits);
      const manifestText = await readManifestText(files);
      const needs = contentNeeds(parseManifest(manifestText));
      const bundle = await insertBundle(this.store.db, {
        content_guid: content.guid,
        created_time: new Date().toISOString(),
        size,
        manifest: manifestText,
        r_version: needs.r?.version ?? null,
        py_version: needs.python?.version ?? null,
        quarto_version: needs.quarto?.version ?? null,
        image_name: null,
        environment_guid: null,
        cluster_name: null,
        pick: null,
      });
      await mkdir(path.dirname(this.archivePath(bundle)), { recursive: true });
      await rename(archive, this.archivePath(bundle));
      await rename(files, this.filesPath(bundle));
      return bundle;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async #receive(body: Readable, file: string): Promise<{ size: number; md5: string }> {
    const hash = createHash("md5");
    let size = 0;
    const limit = this.limits.maxBytes;
    await pipeline(
      body,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > limit) {
            throw new ApiError(
              "badRequest",
              `The bundle is larger than the limit of ${limit} bytes.`,
              { status: 413 },
            );
          }
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(file),
    );
    if (size === 0) throw new ApiError("badRequest", "The bundle upload is empty.");
    return { size, md5: hash.digest("base64") };
  }

  async get(contentGuid: string, id: number): Promise<BundleRow> {
    const bundle = Number.isSafeInteger(id) ? await findBundle(this.store.db, id) : undefined;
    if (!bundle || bundle.content_guid !== contentGuid) {
      throw new ApiError("bundleMissing", `Bundle ${id} of content ${contentGuid} does not exist.`);
    }
    return bundle;
  }

  list(contentGuid: string): Promise<BundleRow[]> {
    return listBundles(this.store.db, contentGuid);
  }

  async remove(content: ContentRow, id: number): Promise<void> {
    const bundle = await this.get(content.guid, id);
    if (content.bundle_id === bundle.id) {
      throw new ApiError(
        "badRequest",
        `Bundle ${id} is the active bundle of this content and cannot be deleted.`,
        {
          status: 409,
        },
      );
    }
    await deleteBundle(this.store.db, bundle.id);
    await rm(this.archivePath(bundle), { force: true });
    await rm(this.filesPath(bundle), { recursive: true, force: true });
  }

  async removeAll(contentGuid: string): Promise<void> {
    await rm(this.contentDir(contentGuid), { recursive: true, force: true });
  }
}

export function toBundle(row: BundleRow, activeId: number | null): Bundle {
  return {
    id: String(row.id),
    content_guid: row.content_guid,
    created_time: row.created_time,
    active: row.id === activeId,
    size: row.size,
    r_version: row.r_version,
    py_version: row.py_version,
    quarto_version: row.quarto_version,
    image_name: row.image_name,
    environment_guid: row.environment_guid,
    cluster_name: row.cluster_name,
    metadata: {},
  };
}
