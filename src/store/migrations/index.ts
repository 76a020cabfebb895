import type { Migration } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";
import { initial } from "./0001-initial.js";
import { content } from "./0002-content.js";
import { sessions } from "./0003-sessions.js";
import { runs } from "./0004-runs.js";
import { signInThrottle } from "./0005-sign-in-throttle.js";
import { publishing } from "./0006-publishing.js";
import { retireAndGit } from "./0007-retire-and-git.js";
import { people } from "./0008-people.js";
import { leases } from "./0009-leases.js";
import { previewRuns } from "./0010-preview-runs.js";
import { contentLoad } from "./0011-content-load.js";

/** Every migration, in order. Names are permanent: never rename or edit one that shipped. */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    "0001-initial": initial(dialect),
    "0002-content": content(dialect),
    "0003-sessions": sessions,
    "0004-runs": runs(dialect),
    "0005-sign-in-throttle": signInThrottle,
    "0006-publishing": publishing,
    "0007-retire-and-git": retireAndGit,
    "0008-people": people(dialect),
    "0009-leases": leases,
    "0010-preview-runs": previewRuns,
    "0011-content-load": contentLoad,
  };
}
