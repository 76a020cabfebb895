/**
 * The protobuf request bodies of client-go's typed clients, for the kinds kubectl's own
 * commands send that way (`kubectl create namespace/configmap/secret/serviceaccount`,
 * `kubectl auth can-i`): the `k8s\0` envelope (runtime.Unknown) and those messages, decoded
 * into the JSON shape the rest of the stand-in speaks. Other kinds are refused with 415.
 */
import { StatusError } from "./status-error.js";

type FieldType =
  | "string"
  | "bytes"
  | "int"
  | "bool"
  | "time"
  | Schema
  | { map: "string" | "bytes" };
interface Field {
  name: string;
  type: FieldType;
  repeated?: boolean;
}
type Schema = { [field: number]: Field };

const OWNER_REFERENCE: Schema = {
  1: { name: "kind", type: "string" },
  3: { name: "name", type: "string" },
  4: { name: "uid", type: "string" },
  5: { name: "apiVersion", type: "string" },
  6: { name: "controller", type: "bool" },
  7: { name: "blockOwnerDeletion", type: "bool" },
};

const OBJECT_META: Schema = {
  1: { name: "name", type: "string" },
  2: { name: "generateName", type: "string" },
  3: { name: "namespace", type: "string" },
  5: { name: "uid", type: "string" },
  6: { name: "resourceVersion", type: "string" },
  7: { name: "generation", type: "int" },
  8: { name: "creationTimestamp", type: "time" },
  11: { name: "labels", type: { map: "string" } },
  12: { name: "annotations", type: { map: "string" } },
  13: { name: "ownerReferences", type: OWNER_REFERENCE, repeated: true },
  14: { name: "finalizers", type: "string", repeated: true },
};

const LOCAL_REFERENCE: Schema = { 1: { name: "name", type: "string" } };

const DELETE_OPTIONS: Schema = {
  1: { name: "gracePeriodSeconds", type: "int" },
  2: {
    name: "preconditions",
    type: { 1: { name: "uid", type: "string" }, 2: { name: "resourceVersion", type: "string" } },
  },
  4: { name: "propagationPolicy", type: "string" },
  5: { name: "dryRun", type: "string", repeated: true },
};

const KINDS: Record<string, Schema> = {
  "v1/DeleteOptions": DELETE_OPTIONS,
  "meta.k8s.io/v1/DeleteOptions": DELETE_OPTIONS,
  "v1/Namespace": { 1: { name: "metadata", type: OBJECT_META } },
  "v1/ConfigMap": {
    1: { name: "metadata", type: OBJECT_META },
    2: { name: "data", type: { map: "string" } },
    3: { name: "binaryData", type: { map: "bytes" } },
    4: { name: "immutable", type: "bool" },
  },
  "v1/Secret": {
    1: { name: "metadata", type: OBJECT_META },
    2: { name: "data", type: { map: "bytes" } },
    3: { name: "type", type: "string" },
    4: { name: "stringData", type: { map: "string" } },
    5: { name: "immutable", type: "bool" },
  },
  "v1/ServiceAccount": {
    1: { name: "metadata", type: OBJECT_META },
    3: { name: "imagePullSecrets", type: LOCAL_REFERENCE, repeated: true },
    4: { name: "automountServiceAccountToken", type: "bool" },
  },
  "authorization.k8s.io/v1/SelfSubjectAccessReview": {
    1: { name: "metadata", type: OBJECT_META },
    2: {
      name: "spec",
      type: {
        1: {
          name: "resourceAttributes",
          type: {
            1: { name: "namespace", type: "string" },
            2: { name: "verb", type: "string" },
            3: { name: "group", type: "string" },
            4: { name: "version", type: "string" },
            5: { name: "resource", type: "string" },
            6: { name: "subresource", type: "string" },
            7: { name: "name", type: "string" },
          },
        },
      },
    },
  },
};

const ENVELOPE: Schema = {
  1: {
    name: "typeMeta",
    type: { 1: { name: "apiVersion", type: "string" }, 2: { name: "kind", type: "string" } },
  },
  2: { name: "raw", type: "bytes" },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The JSON object of a `application/vnd.kubernetes.protobuf` body. */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw new StatusError(400, "BadRequest", "the protobuf body lacks the k8s envelope");
  const envelope = decode(body.subarray(4), ENVELOPE, true) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: Buffer;
  };
  const apiVersion = envelope.typeMeta?.apiVersion ?? "";
  const kind = envelope.typeMeta?.kind ?? "";
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema)
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `the stand-in decodes protobuf only for ${Object.keys(KINDS).join(", ")}; send ${kind || "this object"} as JSON`,
    );
  return {
    apiVersion,
    kind,
    ...(decode(envelope.raw ?? Buffer.alloc(0), schema) as Record<string, unknown>),
  };
}

function decode(buffer: Buffer, schema: Schema, raw = false): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[at++];
      if (byte === undefined) throw new StatusError(400, "BadRequest", "truncated protobuf body");
      result |= BigInt(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return result;
      shift += 7n;
    }
  };
  while (at < buffer.length) {
    const tag = Number(varint());
    const number = tag >> 3;
    const wire = tag & 7;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const length = Number(varint());
      value = buffer.subarray(at, at + length);
      at += length;
    } else if (wire === 1) {
      value = buffer.subarray(at, at + 8);
      at += 8;
    } else if (wire === 5) {
      value = buffer.subarray(at, at + 4);
      at += 4;
    } else throw new StatusError(400, "BadRequest", `unsupported protobuf wire type ${wire}`);
    const field = schema[number];
    if (!field) continue;
    const converted = convert(field.type, value, raw);
    if (typeof field.type === "object" && "map" in field.type) {
      const [k, v] = converted as [string, unknown];
      out[field.name] = { ...(out[field.name] as Record<string, unknown>), [k]: v };
    } else if (field.repeated)
      out[field.name] = [...((out[field.name] as unknown[]) ?? []), converted];
    else out[field.name] = converted;
  }
  return out;
}

function convert(type: FieldType, value: bigint | Buffer, raw: boolean): unknown {
  if (type === "int") return Number(value as bigint);
  if (type === "bool") return (value as bigint) !== 0n;
  if (type === "string") return (value as Buffer).toString("utf8");
  if (type === "bytes") return raw ? value : (value as Buffer).toString("base64");
  if (type === "time") {
    const t = decode(value as Buffer, { 1: { name: "seconds", type: "int" } }) as {
      seconds?: number;
    };
    return new Date((t.seconds ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, "Z");
  }
  if ("map" in type) {
    const entry = decode(value as Buffer, {
      1: { name: "key", type: "string" },
      2: { name: "value", type: type.map },
    });
    return [entry.key ?? "", entry.value ?? ""];
  }
  return decode(value as Buffer, type);
}
