/**
 * Connect's rule for restricted environments: an environment with no permissions is open to
 * every publisher; one with permissions only to the users they name and the members of the
 * groups they name. Administrators manage environments and may use every one. Pure, so the
 * store and the property tests share one statement of it.
 */
export interface EnvironmentPermit {
  readonly environment_guid: string;
  readonly principal_type: string;
  readonly principal_guid: string;
}

export interface Publisher {
  readonly guid: string;
  /** The guids of the groups the publisher belongs to. */
  readonly groups: readonly string[];
  readonly administrator: boolean;
}

/** The guids of the environments this publisher may not use. */
export function notPermittedFor(
  publisher: Publisher,
  permits: readonly EnvironmentPermit[],
): Set<string> {
  const restricted = new Set<string>();
  if (publisher.administrator) return restricted;
  const allowed = new Set<string>();
  const groups = new Set(publisher.groups);
  for (const permit of permits) {
    restricted.add(permit.environment_guid);
    const names =
      permit.principal_type === "user"
        ? permit.principal_guid === publisher.guid
        : permit.principal_type === "group" && groups.has(permit.principal_guid);
    if (names) allowed.add(permit.environment_guid);
  }
  for (const guid of allowed) restricted.delete(guid);
  return restricted;
}
