/**
 * Where each thing lives on the data volume, as sub-paths: one function per thing, used by the
 * server (under its data folder) and by every job (under its runner's `paths.data`), so the
 * two can never disagree about a layout. Pure.
 */
import path from "node:path";

export function contentSubPath(contentGuid: string): string {
  return path.join("content", contentGuid);
}

/** The bundle's unpacked files. */
export function bundleSubPath(contentGuid: string, bundleId: number): string {
  return path.join(contentSubPath(contentGuid), "bundles", String(bundleId));
}

/** The bundle's archive, as uploaded. */
export function archiveSubPath(contentGuid: string, bundleId: number): string {
  return `${bundleSubPath(contentGuid, bundleId)}.tar.gz`;
}

/** A render of the bundle: `source/` (a copy of its files to render in) and `site/` (the result). */
export function outputSubPath(contentGuid: string, bundleId: number): string {
  return path.join(contentSubPath(contentGuid), "output", String(bundleId));
}

export function renderSourceSubPath(contentGuid: string, bundleId: number): string {
  return path.join(outputSubPath(contentGuid, bundleId), "source");
}

export function renderSiteSubPath(contentGuid: string, bundleId: number): string {
  return path.join(outputSubPath(contentGuid, bundleId), "site");
}

/** The output of one run (a build, render or process), by its job key. */
export function runLogSubPath(key: string): string {
  return path.join("logs", "runs", `${key}.log`);
}
