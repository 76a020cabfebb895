/**
 * The declarative file is seen to change whatever links lead to it: a file reached through
 * a link to another folder, a linked folder (edited in place, or the link repointed), a
 * chain of links, a save by rename, and the ConfigMap `..data` swap.
 */
import { mkdir, mkdtemp, rename, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DeclarativeFile, foldersOnTheWay } from "../../src/environments/declarative.js";
import { openStore, type Store } from "../../src/store/database.js";
import { listEnvironments } from "../../src/store/environments.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

const entry = (title: string) =>
  `- name: ghcr.io/org/watched:1\n  title: ${title}\n  python:\n    installations:\n      - {version: 3.11.4, path: /opt/python/3.11.4/bin/python3}\n`;

/** Waits until the catalog shows the title, up to 20 s for a busy machine. */
async function titleBecomes(store: Store, title: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [environment] = await listEnvironments(store.db);
    if (environment?.title === title) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  const [environment] = await listEnvironments(store.db);
  throw new Error(`the title stayed ${JSON.stringify(environment?.title)}, never ${title}`);
}

describe("watching the declarative file through links", () => {
  let database: TestDatabase;
  let store: Store;
  let dir: string;
  let declarative: DeclarativeFile | undefined;
  beforeEach(async () => {
    database = await freshDatabase("sqlite");
    store = await openStore(database.settings);
    dir = await mkdtemp(path.join(tmpdir(), "slipway-watch-"));
  });
  afterEach(async () => {
    await declarative?.close();
    declarative = undefined;
    await store.close();
    await database.drop();
  });

  async function follow(file: string): Promise<void> {
    declarative = new DeclarativeFile(store, file, pino({ level: "silent" }));
    await declarative.sync();
    await declarative.watch(50);
    await titleBecomes(store, "one");
  }

  it("sees in-place edits to a file reached through a link to another folder", async () => {
    await mkdir(path.join(dir, "real"));
    await mkdir(path.join(dir, "conf"));
    await writeFile(path.join(dir, "real", "environments.yaml"), entry("one"));
    await symlink("../real/environments.yaml", path.join(dir, "conf", "environments.yaml"));
    await follow(path.join(dir, "conf", "environments.yaml"));
    await writeFile(path.join(dir, "real", "environments.yaml"), entry("two"));
    await titleBecomes(store, "two");
    await writeFile(path.join(dir, "real", "environments.yaml"), entry("three"), { flag: "r+" });
    await titleBecomes(store, "three");
  });

  it("sees in-place edits in a linked folder, and the folder link repointed", async () => {
    await mkdir(path.join(dir, "v1"));
    await mkdir(path.join(dir, "v2"));
    await writeFile(path.join(dir, "v1", "environments.yaml"), entry("one"));
    await writeFile(path.join(dir, "v2", "environments.yaml"), entry("from v2"));
    await symlink("v1", path.join(dir, "current"));
    await follow(path.join(dir, "current", "environments.yaml"));
    await writeFile(path.join(dir, "v1", "environments.yaml"), entry("two"));
    await titleBecomes(store, "two");
    await symlink("v2", path.join(dir, "next"));
    await rename(path.join(dir, "next"), path.join(dir, "current"));
    await titleBecomes(store, "from v2");
    // Now v2 is the folder that counts: its edits are seen, v1's no longer matter.
    await writeFile(path.join(dir, "v2", "environments.yaml"), entry("v2 edited"));
    await titleBecomes(store, "v2 edited");
  });

  it("follows a chain of links, and a save by rename at its end", async () => {
    await mkdir(path.join(dir, "a"));
    await mkdir(path.join(dir, "b"));
    await mkdir(path.join(dir, "c"));
    await writeFile(path.join(dir, "c", "real.yaml"), entry("one"));
    await symlink("../c/real.yaml", path.join(dir, "b", "middle.yaml"));
    await symlink("../b/middle.yaml", path.join(dir, "a", "environments.yaml"));
    await follow(path.join(dir, "a", "environments.yaml"));
    await writeFile(path.join(dir, "c", ".real.yaml.swp"), entry("saved"));
    await rename(path.join(dir, "c", ".real.yaml.swp"), path.join(dir, "c", "real.yaml"));
    await titleBecomes(store, "saved");
  });

  it("sees a ConfigMap's ..data swap, and edits to the version it now points at", async () => {
    let generation = 0;
    const publish = async (text: string) => {
      const version = `..2026_11_22_${++generation}`;
      await mkdir(path.join(dir, version));
      await writeFile(path.join(dir, version, "environments.yaml"), text);
      await symlink(version, path.join(dir, "..data_tmp"));
      await rename(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
      return path.join(dir, version, "environments.yaml");
    };
    await publish(entry("one"));
    await symlink("..data/environments.yaml", path.join(dir, "environments.yaml"));
    await follow(path.join(dir, "environments.yaml"));
    const second = await publish(entry("two"));
    await titleBecomes(store, "two");
    await writeFile(second, entry("three"));
    await titleBecomes(store, "three");
  });

  it("lists the folders of every link on the way and of the file itself", async () => {
    await mkdir(path.join(dir, "real"));
    await mkdir(path.join(dir, "conf"));
    await writeFile(path.join(dir, "real", "file.yaml"), "[]");
    await symlink("real", path.join(dir, "linked"));
    await symlink("../linked/file.yaml", path.join(dir, "conf", "environments.yaml"));
    expect((await foldersOnTheWay(path.join(dir, "conf", "environments.yaml"))).sort()).toEqual(
      [dir, path.join(dir, "conf"), path.join(dir, "real")].sort(),
    );
    expect(await foldersOnTheWay(path.join(dir, "missing", "environments.yaml"))).toEqual([dir]);
  });
});
