/**
 * A bundle upload as a multipart form (Connect 2025.12 on): an `archive` part holding the
 * gzip tar and an optional `metadata` part holding JSON (rsconnect-python sends its git
 * source, branch and commit there). The form is read with busboy from the guarded body
 * stream, so the edge's timeouts and rate rule hold, and the archive goes through the same
 * one-pass upload as a plain body; metadata may come before or after it. A refused part
 * leaves no bundle.
 */
import type { Readable } from "node:stream";
import { Busboy, type BusboyHeaders, type BusboyInstance } from "@fastify/busboy";
import type { FastifyRequest } from "fastify";
import { type BundleMetadata, parseBundleMetadata } from "../../content/bundle-metadata.js";
import type { BundleService } from "../../content/bundle-service.js";
import { ApiError } from "../../errors.js";
import { type BundleRow, updateBundle } from "../../store/bundles.js";
import type { ContentRow } from "../../store/content.js";
import type { Store } from "../../store/database.js";

const METADATA_MAX_BYTES = 64 * 1024;

export function isMultipart(request: FastifyRequest): boolean {
  return /^multipart\/form-data\b/i.test(request.headers["content-type"] ?? "");
}

export async function uploadMultipart(
  request: FastifyRequest,
  store: Store,
  item: ContentRow,
  bundles: BundleService,
  checksum: string | undefined,
): Promise<BundleRow> {
  const body = request.body as Readable;
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  let metadata: BundleMetadata | null = null;
  const takeMetadata = (text: string) => {
    try {
      metadata = parseBundleMetadata(text);
    } catch (error) {
      fail(error);
    }
  };
  let upload: Promise<BundleRow | undefined> | undefined;

  await new Promise<void>((resolve) => {
    let form: BusboyInstance;
    try {
      form = Busboy({
        headers: request.headers as BusboyHeaders,
        limits: { files: 2, fields: 4, parts: 4, fieldSize: METADATA_MAX_BYTES },
      });
    } catch (error) {
      fail(refusal(`The multipart form cannot be read: ${(error as Error).message}.`, "archive"));
      body.resume();
      return resolve();
    }
    const done = (error?: unknown) => {
      if (error !== undefined) fail(error);
      resolve();
    };
    form.on("file", (name, stream) => {
      if (name === "archive" && !upload) {
        upload = bundles.upload(item, stream, checksum).catch((error: unknown) => {
          fail(error);
          stream.resume();
          return undefined;
        });
      } else if (name === "metadata") {
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size <= METADATA_MAX_BYTES) chunks.push(chunk);
        });
        stream.on("end", () =>
          size > METADATA_MAX_BYTES
            ? fail(refusal(`The metadata part is over ${METADATA_MAX_BYTES} bytes.`, "metadata"))
            : takeMetadata(Buffer.concat(chunks).toString("utf8")),
        );
      } else {
        stream.resume();
        fail(
          name === "archive"
            ? refusal("The upload has two archive parts; send one.", "archive")
            : unknownPart(name),
        );
      }
    });
    form.on("field", (name, value, _nameTruncated, valueTruncated) => {
      if (name !== "metadata") return fail(unknownPart(name));
      if (valueTruncated) {
        return fail(refusal(`The metadata part is over ${METADATA_MAX_BYTES} bytes.`, "metadata"));
      }
      takeMetadata(value);
    });
    for (const limit of ["partsLimit", "filesLimit", "fieldsLimit"] as const) {
      form.on(limit, () =>
        fail(refusal('The upload has too many parts: send "archive" and "metadata".', "archive")),
      );
    }
    form.on("error", (error) =>
      done(refusal(`The multipart form is malformed: ${(error as Error).message}.`, "archive")),
    );
    form.on("finish", () => done());
    body.on("error", done);
    body.pipe(form);
  });

  const bundle = await upload;
  try {
    if (failure !== undefined) throw failure;
    if (!bundle) {
      throw refusal(
        'The multipart upload has no "archive" part: send the bundle, a gzip tar, as a file part named archive.',
        "archive",
      );
    }
    const given: BundleMetadata | null = metadata;
    if (given && Object.keys(given).length > 0) {
      await updateBundle(store.db, bundle.id, { metadata: JSON.stringify(given) });
      return await bundles.get(item.guid, bundle.id);
    }
    return bundle;
  } catch (error) {
    if (bundle) await bundles.remove(item, bundle.id);
    throw error;
  }
}

function unknownPart(name: string): ApiError {
  return refusal(
    `The upload has a part named "${name.slice(0, 64)}"; it takes "archive" (the bundle) and "metadata" (JSON).`,
    name.slice(0, 64),
  );
}

function refusal(message: string, field: string): ApiError {
  return new ApiError("badRequest", message, { payload: { field } });
}
