/**
 * The four PATCH flavours the API server takes: JSON merge patch (RFC 7386), strategic merge
 * patch (lists merged by their Kubernetes merge keys, `$patch` directives), JSON patch
 * (RFC 6902), and the merge step of server-side apply.
 */
import { badRequest, StatusError } from "./status-error.js";

type Json = unknown;
type JsonMap = Record<string, unknown>;

function isMap(value: unknown): value is JsonMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return patch;
  const out: JsonMap = isMap(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** The merge key of each list field that the Kubernetes types merge by key, not replace. */
const MERGE_KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  env: "name",
  volumes: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  imagePullSecrets: "name",
  hostAliases: "ip",
  ownerReferences: "uid",
  conditions: "type",
  resourceClaims: "name",
  topologySpreadConstraints: "topologyKey",
};

/** Lists of scalars that merge as sets. */
const SET_LISTS = new Set(["finalizers"]);

function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  if (field === "ports") {
    const first = items.find(isMap);
    if (first && "containerPort" in first) return "containerPort";
    return "port";
  }
  return MERGE_KEYS[field];
}

export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isMap(patch)) return patch;
  if (patch.$patch === "replace") {
    const { $patch: _p, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === "delete") return undefined;
  const out: JsonMap = isMap(target) ? { ...target } : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith("$setElementOrder/") || k === "$retainKeys" || k === "$patch") continue;
    if (k.startsWith("$deleteFromPrimitiveList/")) {
      const field = k.slice("$deleteFromPrimitiveList/".length);
      const remove = new Set((v as unknown[]).map((x) => JSON.stringify(x)));
      if (Array.isArray(out[field]))
        out[field] = (out[field] as unknown[]).filter((x) => !remove.has(JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) {
      out[k] = mergeList(k, out[k], v);
      continue;
    }
    const merged = strategicMergePatch(out[k], v);
    if (merged === undefined) delete out[k];
    else out[k] = merged;
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

function mergeList(field: string, current: unknown, patch: unknown[]): unknown[] {
  const existing = Array.isArray(current) ? current : [];
  if (SET_LISTS.has(field)) {
    const seen = new Set(existing.map((x) => JSON.stringify(x)));
    return [...existing, ...patch.filter((x) => !seen.has(JSON.stringify(x)))];
  }
  const mergeKey = mergeKeyFor(field, [...patch, ...existing]);
  if (!mergeKey) return patch.map(stripDirectives);
  const out = [...existing];
  for (const item of patch) {
    if (!isMap(item)) continue;
    const index = out.findIndex((e) => isMap(e) && e[mergeKey] === item[mergeKey]);
    if (item.$patch === "delete") {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) out[index] = strategicMergePatch(out[index], item);
    else out.push(stripDirectives(item));
  }
  return out;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isMap(value)) return value;
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith("$")) out[k] = stripDirectives(v);
  return out;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

export function jsonPatch(target: Json, ops: unknown): Json {
  if (!Array.isArray(ops)) throw badRequest("json patch must be an array of operations");
  let doc = structuredClone(target);
  for (const raw of ops as JsonPatchOp[]) {
    const { op, path } = raw;
    if (op === "test") {
      if (JSON.stringify(pointerGet(doc, path)) !== JSON.stringify(raw.value))
        throw new StatusError(
          422,
          "Invalid",
          `the server rejected our request due to an error in our request: testing value ${path} failed`,
        );
      continue;
    }
    if (op === "remove") doc = pointerSet(doc, path, undefined, "remove");
    else if (op === "add") doc = pointerSet(doc, path, raw.value, "add");
    else if (op === "replace") doc = pointerSet(doc, path, raw.value, "replace");
    else if (op === "copy")
      doc = pointerSet(doc, path, structuredClone(pointerGet(doc, raw.from!)), "add");
    else if (op === "move") {
      const value = pointerGet(doc, raw.from!);
      doc = pointerSet(doc, raw.from!, undefined, "remove");
      doc = pointerSet(doc, path, value, "add");
    } else throw badRequest(`unexpected json patch operation "${op}"`);
  }
  return doc;
}

function tokens(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function pointerGet(doc: Json, pointer: string): Json {
  let at: Json = doc;
  for (const t of tokens(pointer)) {
    if (Array.isArray(at)) at = at[Number(t)];
    else if (isMap(at)) at = at[t];
    else throw missing(pointer);
    if (at === undefined) throw missing(pointer);
  }
  return at;
}

function missing(pointer: string): StatusError {
  return new StatusError(
    422,
    "Invalid",
    `the server rejected our request due to an error in our request: doc is missing path: "${pointer}"`,
  );
}

function pointerSet(
  doc: Json,
  pointer: string,
  value: Json,
  mode: "add" | "replace" | "remove",
): Json {
  const path = tokens(pointer);
  if (path.length === 0) return value;
  const last = path.pop()!;
  const parent = path.length
    ? pointerGet(doc, `/${path.map((t) => t.replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`)
    : doc;
  if (Array.isArray(parent)) {
    const index = last === "-" ? parent.length : Number(last);
    if (mode === "add") parent.splice(index, 0, value);
    else if (mode === "replace") parent[index] = value;
    else parent.splice(index, 1);
  } else if (isMap(parent)) {
    if (mode !== "add" && !(last in parent)) throw missing(pointer);
    if (mode === "remove") delete parent[last];
    else parent[last] = value;
  } else throw missing(pointer);
  return doc;
}

/**
 * The set of field paths an applied configuration sets, in the `fieldsV1` form of
 * managedFields (`f:name`, `k:{"name":"x"}` for keyed list items, `v:` for set members).
 */
export function fieldSet(value: Json): JsonMap {
  const out: JsonMap = {};
  if (isMap(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "apiVersion" || k === "kind") continue;
      out[`f:${k}`] = Array.isArray(v) ? listFieldSet(k, v) : isMap(v) ? fieldSet(v) : {};
    }
  }
  return out;
}

function listFieldSet(field: string, items: unknown[]): JsonMap {
  const out: JsonMap = {};
  const mergeKey = mergeKeyFor(field, items);
  if (SET_LISTS.has(field)) for (const item of items) out[`v:${JSON.stringify(item)}`] = {};
  else if (mergeKey)
    for (const item of items)
      if (isMap(item))
        out[`k:${JSON.stringify({ [mergeKey]: item[mergeKey] })}`] = { ".": {}, ...fieldSet(item) };
  return out;
}

/**
 * Server-side apply's merge: the applied configuration is merged over the live object, and
 * fields this manager set last time but no longer sets are removed (fields only other
 * managers set are kept). Conflicts between managers are not detected.
 */
export function applyMerge(live: Json, applied: Json, previous: JsonMap | undefined): Json {
  const pruned = previous ? prune(live, previous, fieldSet(applied)) : live;
  return strategicMergePatch(pruned, applied);
}

function prune(live: Json, previous: JsonMap, current: JsonMap): Json {
  if (!isMap(live)) return live;
  const out: JsonMap = { ...live };
  for (const [path, sub] of Object.entries(previous)) {
    if (!path.startsWith("f:")) continue;
    const name = path.slice(2);
    if (!(path in current)) {
      delete out[name];
      continue;
    }
    const next = current[path] as JsonMap;
    if (Array.isArray(out[name]))
      out[name] = pruneList(out[name] as unknown[], sub as JsonMap, next);
    else if (isMap(out[name])) out[name] = prune(out[name], sub as JsonMap, next);
  }
  return out;
}

function pruneList(items: unknown[], previous: JsonMap, current: JsonMap): unknown[] {
  return items
    .filter((item) => {
      if (!isMap(item))
        return !(`v:${JSON.stringify(item)}` in previous) || `v:${JSON.stringify(item)}` in current;
      const keyed = Object.keys(previous).find((k) => {
        if (!k.startsWith("k:")) return false;
        const [[mk, mv]] = Object.entries(JSON.parse(k.slice(2)) as JsonMap) as [[string, unknown]];
        return item[mk] === mv;
      });
      return !keyed || keyed in current;
    })
    .map((item) => {
      if (!isMap(item)) return item;
      const keyed = Object.keys(current).find((k) => {
        if (!k.startsWith("k:")) return false;
        const [[mk, mv]] = Object.entries(JSON.parse(k.slice(2)) as JsonMap) as [[string, unknown]];
        return item[mk] === mv;
      });
      return keyed && previous[keyed]
        ? prune(item, previous[keyed] as JsonMap, current[keyed] as JsonMap)
        : item;
    });
}
