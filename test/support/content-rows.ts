import { insertContent } from "../../src/store/content.js";
import type { Store } from "../../src/store/database.js";
import { insertUser } from "../../src/store/users.js";

/**
 * A content item straight into the store, owned by a new publisher "owner": never deployed,
 * no environment, every setting at the server's default.
 */
export async function insertOwnedContent(
  store: Store,
  content: { guid: string; name: string; app_mode: string },
): Promise<void> {
  const owner = await insertUser(store.db, { username: "owner", role: "publisher" });
  await insertContent(store.db, {
    ...content,
    title: null,
    description: "",
    owner_guid: owner.guid,
    content_category: "",
    created_time: new Date().toISOString(),
    last_deployed_time: null,
    bundle_id: null,
    default_image_name: null,
    default_environment_guid: null,
    default_r_environment_management: null,
    default_py_environment_management: null,
    image_name: null,
    environment_guid: null,
    cluster_name: null,
    r_version: null,
    py_version: null,
    quarto_version: null,
    needs_rebuild: 0,
  });
}
