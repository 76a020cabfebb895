/**
 * What a content item's active bundle (or a draft's) is, read once per bundle: its manifest's needs, the
 * recorded pick and what it was built into. Bundles do not change once built, so this is kept
 * in memory by bundle id and asked on every request and every reconcile.
 */
import {
  type ContentNeeds,
  contentNeeds,
  type Manifest,
  parseManifest,
} from "../environments/manifest.js";
import { type BundleRow, findBundle } from "../store/bundles.js";
import type { Store } from "../store/database.js";
import type { Built } from "./jobs.js";
import type { Pick } from "./pick.js";

export interface ActiveBundle {
  readonly bundle: BundleRow;
  readonly manifest: Manifest;
  readonly needs: ContentNeeds;
  readonly pick: Pick;
  readonly built: Built;
}

const KEPT = 1000;

export class ActiveBundles {
  readonly #cache = new Map<number, ActiveBundle>();

  constructor(private readonly store: Store) {}

  /** The content's active bundle once built; undefined before its first deploy. */
  async of(content: { readonly bundle_id: number | null }): Promise<ActiveBundle | undefined> {
    return content.bundle_id === null ? undefined : this.#built(content.bundle_id);
  }

  /** A bundle of this content once built, active or not: a draft, for its preview. */
  async draft(
    content: { readonly guid: string },
    bundleId: number,
  ): Promise<ActiveBundle | undefined> {
    const built = await this.#built(bundleId);
    return built?.bundle.content_guid === content.guid ? built : undefined;
  }

  async #built(bundleId: number): Promise<ActiveBundle | undefined> {
    const cached = this.#cache.get(bundleId);
    if (cached) return cached;
    const bundle = await findBundle(this.store.db, bundleId);
    if (!bundle?.pick || !bundle.build) return undefined;
    const manifest = parseManifest(bundle.manifest);
    const active: ActiveBundle = {
      bundle,
      manifest,
      needs: contentNeeds(manifest),
      pick: JSON.parse(bundle.pick) as Pick,
      built: JSON.parse(bundle.build) as Built,
    };
    if (this.#cache.size >= KEPT) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(bundle.id, active);
    return active;
  }
}
