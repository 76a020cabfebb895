/** Who may view a content item: the rules both ways into content apply alike. */
import type { ContentLookup } from "../content/content-resolver.js";
import { ApiError } from "../errors.js";
import type { Store } from "../store/database.js";
import { permittedRole } from "../store/permissions.js";
import type { UserRow } from "../store/users.js";
import { appRoleOf, mayView } from "../users/content-access.js";

export async function openToAnyone(row: ContentLookup): Promise<boolean> {
  return (await row())?.access_type === "all";
}

/** Why this visitor may not view the content, or null when they may. */
export async function refuseViewer(
  store: Store,
  user: UserRow | null,
  guid: string,
  lookup: ContentLookup,
): Promise<ApiError | null> {
  const row = await lookup();
  if (!row) return new ApiError("notFound", `Content ${guid} does not exist.`);
  // Kept as the key and the content's row are: a visitor's every request would read it.
  const granted: typeof permittedRole = (db, contentGuid, userGuid) =>
    store.recent.read(`granted:${contentGuid}:${userGuid}`, () =>
      permittedRole(db, contentGuid, userGuid),
    );
  if (mayView(await appRoleOf(store.db, user, row, granted))) return null;
  return user
    ? new ApiError("permissionDenied", "You do not have permission to view this content.")
    : new ApiError("authenticationRequired", "Sign in to view this content.");
}
