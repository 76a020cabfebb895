/** Opens the store named by a configuration file, for commands that work without a server. */
import { loadSettings } from "../../config/settings.js";
import { openStore, type Store } from "../../store/database.js";

export async function withStore<T>(
  configFile: string | undefined,
  work: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore(loadSettings({ file: configFile }));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}
