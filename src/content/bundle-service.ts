/**
 * Bundles: the uploaded archive is kept as it came (for download) and unpacked beside it, both
 * in the one pass that reads the upload. An upload either ends as a recorded bundle with both
 * on disk, or leaves nothing behind: not on a refusal, not when the client goes away, and not
 * after a crash (the next start removes what a stopped server left in staging).
 */
import { randomUUID } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { FastifyBaseLogger } from "fastify";
import type { Settings } from "../config/settings.js";
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
import { removeTree } from "../util/remove-tree.js";
import { unpackBundle } from "./bundle-archive.js";
import { readManifestText } from "./bundle-manifest.js";
import { bundleMetadataView } from "./bundle-metadata.js";
import { UploadBody } from "./bundle-upload.js";
import type { Bundle } from "./model.js";

export class BundleService {
  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly limits: Readonly<Settings["Bundles"]>,
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
    const staging = path.join(this.#stagingDir(), randomUUID());
    await mkdir(staging, { recursive: true });
    let upload: UploadBody | undefined;
    try {
      const archive = path.join(staging, "bundle.tar.gz");
      upload = await UploadBody.open(body, archive, this.limits.MaxBytes);
      const files = path.join(staging, "files");
      await unpackBundle(upload.stream(), files, this.limits);
      const { size, md5 } = await upload.finish();
      if (checksum && checksum !== md5) {
        throw new ApiError(
          "badRequest",
          `The bundle's MD5 checksum is ${md5}, not the ${checksum} sent in X-Content-Checksum.`,
        );
      }
      const manifestText = await readManifestText(files, this.limits);
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
      await upload.close();
      await mkdir(path.dirname(this.archivePath(bundle)), { recursive: true });
      await rename(archive, this.archivePath(bundle));
      await rename(files, this.filesPath(bundle));
      return bundle;
    } catch (error) {
      upload?.discardRest();
      throw error;
    } finally {
      await upload?.close().catch(() => {});
      await removeTree(staging);
    }
  }

  /**
   * Removes what uploads left in staging when their server stopped mid-way. Several servers
   * may share the data folder, so only folders nothing has written to for
   * `[Bundles] StagingMaxAgeMinutes` go: an upload in progress writes with every chunk.
   */
  async removeAbandonedStaging(logger: FastifyBaseLogger, now = Date.now()): Promise<void> {
    const dir = this.#stagingDir();
    const names = await readdir(dir).catch(() => [] as string[]);
    const oldest = now - this.limits.StagingMaxAgeMinutes * 60_000;
    for (const name of names) {
      const folder = path.join(dir, name);
      if ((await lastWritten(folder)) > oldest) continue;
      await removeTree(folder);
      logger.info({ folder }, "Removed the staging folder of an upload a stopped server left");
    }
  }

  #stagingDir(): string {
    return path.join(this.dataDir, "staging");
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
    await removeTree(this.filesPath(bundle));
  }

  async removeAll(contentGuid: string): Promise<void> {
    await removeTree(this.contentDir(contentGuid));
  }
}

/**
 * When anything was last written to an upload's staging folder: the folder itself, or what it
 * holds directly (the archive, written with every chunk, and the unpacking folder).
 */
async function lastWritten(folder: string): Promise<number> {
  const times = [(await stat(folder).catch(() => undefined))?.mtimeMs ?? 0];
  for (const name of await readdir(folder).catch(() => [] as string[])) {
    times.push((await stat(path.join(folder, name)).catch(() => undefined))?.mtimeMs ?? 0);
  }
  return Math.max(...times);
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
    metadata: bundleMetadataView(row.metadata),
  };
}
