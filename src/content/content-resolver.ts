/**
 * Where a request for content goes: a folder of files for static and rendered content, or a
 * ready process of an application (started if none is), chosen by the reconciler. The proxy
 * never knows which backend made the process.
 */
import path from "node:path";
import { ApiError } from "../errors.js";
import { type ContentRow, findContent } from "../store/content.js";
import type { Store } from "../store/database.js";
import type { UserRow } from "../store/users.js";
import { appRoleOf, mayChange } from "../users/content-access.js";
import type { ActiveBundles } from "./active-bundle.js";
import { isRendered } from "./app-commands.js";
import { bundleSubPath, renderSiteSubPath } from "./data-layout.js";
import type { ConnectionTimeouts, ProcessReconciler } from "./process-reconciler.js";

export type ContentTarget =
  | { readonly kind: "files"; readonly root: string; readonly index: string }
  | {
      readonly kind: "app";
      readonly host: string;
      readonly port: number;
      readonly runId: number;
      readonly timeouts: ConnectionTimeouts;
      /** Call when the request's connection has ended. */
      readonly release: () => void;
    };

/**
 * The content's row as one request reads it: the route and the resolver share one read per
 * request instead of each reading it again.
 */
export type ContentLookup = () => Promise<ContentRow | undefined>;

/** A lookup that reads the row at most once, or takes one read within the last moment. */
export function lookupOnce(store: Store, guid: string): ContentLookup {
  let read: Promise<ContentRow | undefined> | undefined;
  return () => {
    read ??= store.recent.read(`content:${guid}`, () => findContent(store.db, guid));
    return read;
  };
}

export class ContentResolver {
  constructor(
    private readonly store: Store,
    private readonly bundles: ActiveBundles,
    private readonly reconciler: ProcessReconciler,
    private readonly dataDir: string,
  ) {}

  /** Where to send the request; `draft` names a bundle to preview instead of the live one. */
  async resolve(
    guid: string,
    draft: number | null = null,
    lookup = lookupOnce(this.store, guid),
  ): Promise<ContentTarget> {
    const { content, active, preview } = await this.#bundle(guid, draft, lookup);
    const { appMode } = active.needs;
    if (appMode === "static") {
      return {
        kind: "files",
        root: path.join(this.dataDir, bundleSubPath(guid, active.bundle.id)),
        index: active.manifest.metadata.primary_html ?? "index.html",
      };
    }
    if (isRendered(appMode)) {
      return {
        kind: "files",
        root: path.join(this.dataDir, renderSiteSubPath(guid, active.bundle.id)),
        index: "index.html",
      };
    }
    const { process, timeouts, release } = preview
      ? await this.reconciler.previewEndpoint(content.guid, active.bundle.id)
      : await this.reconciler.endpoint(guid);
    return { kind: "app", ...process.endpoint, runId: process.runId, timeouts, release };
  }

  /** Drafts are for the people who may change the content: its owner and administrators. */
  async checkPreview(
    caller: UserRow | null,
    guid: string,
    lookup = lookupOnce(this.store, guid),
  ): Promise<void> {
    const content = await lookup();
    if (!content) throw new ApiError("notFound", `Content ${guid} does not exist.`);
    if (!caller) {
      throw new ApiError("authenticationRequired", "Sign in to preview a draft bundle.");
    }
    if (!mayChange(await appRoleOf(this.store.db, caller, content))) {
      throw new ApiError(
        "permissionDenied",
        "Only the content's owner, collaborators or an administrator may preview its draft bundles.",
      );
    }
  }

  async #bundle(guid: string, draft: number | null, lookup: ContentLookup) {
    const content = await lookup();
    // A "draft" that is the active bundle is simply the live content.
    const preview = draft !== null && content?.bundle_id !== draft;
    const active =
      content &&
      (preview ? await this.bundles.draft(content, draft!) : await this.bundles.of(content));
    if (!content || !active) {
      throw new ApiError(
        "notFound",
        preview
          ? `Content ${guid} has no built bundle ${draft} to preview.`
          : `Content ${guid} is not deployed.`,
        { payload: preview ? { bundle_id: String(draft) } : null },
      );
    }
    return { content, active, preview };
  }

  /**
   * Whether the content is served as files or by a process, without starting or choosing
   * one: the content route decides who may enter (and where to send them) before that.
   */
  async servedAs(
    guid: string,
    draft: number | null = null,
    lookup = lookupOnce(this.store, guid),
  ): Promise<"files" | "app"> {
    const { active } = await this.#bundle(guid, draft, lookup);
    const { appMode } = active.needs;
    return appMode === "static" || isRendered(appMode) ? "files" : "app";
  }

  /** The proxy could not reach the process it was given. */
  unreachable(guid: string, runId: number): void {
    this.reconciler.unreachable(guid, runId);
  }
}
