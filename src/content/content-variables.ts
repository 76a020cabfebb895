/**
 * Content environment variables as Connect has them: names are listed, values are written
 * and never read back. Values are sealed with the server's key before they reach the store,
 * and opened only to hand them to a build or a process of the content.
 */
import { ApiError } from "../errors.js";
import { variableRows, writeVariables } from "../store/content-variables.js";
import type { Store } from "../store/database.js";
import type { UserRow } from "../store/users.js";
import type { ContentService } from "./content-service.js";
import type { SecretBox } from "./secret-box.js";
import { VARIABLE_NAME_PATTERN } from "./variable-names.js";

export const VARIABLE_NAME = new RegExp(VARIABLE_NAME_PATTERN);
export const MAX_NAME_BYTES = 255;
export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_VARIABLES = 1000;

export interface VariableChange {
  readonly name: string;
  readonly value: string | null;
}

export class ContentVariables {
  constructor(
    private readonly store: Store,
    private readonly content: ContentService,
    private readonly secrets: SecretBox,
  ) {}

  /** The names, for the people who may change the content; values never leave. */
  async names(caller: UserRow, guid: string): Promise<string[]> {
    const row = await this.content.getBehindTheScenes(caller, guid);
    return (await variableRows(this.store.db, row.guid)).map((r) => r.name);
  }

  /** PATCH: sets each named value, removes those given `null`, keeps the rest. */
  async patch(
    caller: UserRow,
    guid: string,
    changes: readonly VariableChange[],
  ): Promise<string[]> {
    const row = await this.content.getEditable(caller, guid);
    const { set, remove } = this.#check(changes, true);
    const kept = (await variableRows(this.store.db, row.guid)).map((r) => r.name);
    const after = new Set([...kept, ...set.keys()]);
    for (const name of remove) after.delete(name);
    this.#checkCount(after.size);
    await writeVariables(this.store.db, row.guid, { replaceAll: false, set, remove });
    return this.names(caller, guid);
  }

  /** PUT: the variables become exactly these. */
  async replace(
    caller: UserRow,
    guid: string,
    changes: readonly VariableChange[],
  ): Promise<string[]> {
    const row = await this.content.getEditable(caller, guid);
    const { set } = this.#check(changes, false);
    this.#checkCount(set.size);
    await writeVariables(this.store.db, row.guid, { replaceAll: true, set, remove: [] });
    return this.names(caller, guid);
  }

  #check(changes: readonly VariableChange[], nullRemoves: boolean) {
    const set = new Map<string, string>();
    const remove: string[] = [];
    const seen = new Set<string>();
    changes.forEach((change, index) => {
      const field = `[${index}].name`;
      if (!VARIABLE_NAME.test(change.name) || Buffer.byteLength(change.name) > MAX_NAME_BYTES) {
        throw new ApiError(
          "invalidParameter",
          `Environment variable name "${change.name.slice(0, 64)}" at ${field} is not an identifier: letters, digits and "_", not starting with a digit, at most ${MAX_NAME_BYTES} bytes.`,
          { payload: { field, name: change.name.slice(0, 255) } },
        );
      }
      if (seen.has(change.name)) {
        throw new ApiError(
          "invalidParameter",
          `Environment variable ${change.name} is named twice (at ${field}).`,
          { payload: { field, name: change.name } },
        );
      }
      seen.add(change.name);
      if (change.value === null) {
        if (!nullRemoves) {
          throw new ApiError(
            "invalidParameter",
            `Environment variable ${change.name} has no value (at [${index}].value): PUT sets every variable it lists; leave a variable out to remove it.`,
            { payload: { field: `[${index}].value`, name: change.name } },
          );
        }
        remove.push(change.name);
        return;
      }
      if (Buffer.byteLength(change.value) > MAX_VALUE_BYTES) {
        throw new ApiError(
          "invalidParameter",
          `The value of environment variable ${change.name} (at [${index}].value) is longer than ${MAX_VALUE_BYTES} bytes.`,
          { payload: { field: `[${index}].value`, name: change.name } },
        );
      }
      if (change.value.includes("\0")) {
        throw new ApiError(
          "invalidParameter",
          `The value of environment variable ${change.name} (at [${index}].value) holds a NUL byte, which no process environment can carry.`,
          { payload: { field: `[${index}].value`, name: change.name } },
        );
      }
      set.set(change.name, this.secrets.seal(change.value));
    });
    return { set, remove };
  }

  #checkCount(count: number): void {
    if (count > MAX_VARIABLES) {
      throw new ApiError(
        "invalidParameter",
        `Content may have at most ${MAX_VARIABLES} environment variables; this change would leave ${count}.`,
        { payload: { count } },
      );
    }
  }
}

/** The values in the clear, for the jobs of the content only. */
export async function variableValues(
  store: Store,
  secrets: SecretBox,
  guid: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const row of await variableRows(store.db, guid)) out[row.name] = secrets.open(row.value);
  return out;
}
