/**
 * fast-check values shaped by a route's JSON schema, so fuzzed bodies get past validation
 * often enough to reach the handlers, with a hostile value or an extra key mixed in here
 * and there (prototype names, NUL bytes, huge numbers).
 */
import fc from "fast-check";

type Schema = {
  type?: string;
  anyOf?: Schema[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  maxItems?: number;
  pattern?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
};

export interface SchemaArbitraryOptions {
  /** Any value, for the places a schema leaves open and for the occasional wrong one. */
  hostile: fc.Arbitrary<unknown>;
  /** Keys added beside the declared ones. */
  extraKeys: readonly string[];
  /** Strings worth using for a string of this name (existing ids, say). */
  known?: (property: string) => readonly string[];
}

const absent = Symbol("absent");

export function fromSchema(
  schema: Schema,
  options: SchemaArbitraryOptions,
  property = "",
  depth = 0,
): fc.Arbitrary<unknown> {
  const typed = typedValue(schema, options, property, depth);
  return fc.oneof({ weight: 15, arbitrary: typed }, { weight: 1, arbitrary: options.hostile });
}

function typedValue(
  schema: Schema,
  options: SchemaArbitraryOptions,
  property: string,
  depth: number,
): fc.Arbitrary<unknown> {
  if (schema.anyOf) {
    return fc.oneof(...schema.anyOf.map((s) => fromSchema(s, options, property, depth)));
  }
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (depth > 4) return options.hostile;
  switch (schema.type) {
    case "object": {
      // An optional field is left out two times in three: a body with fewer fields is
      // likelier to be valid, and so to reach the handler.
      const required = new Set(schema.required ?? []);
      const properties = Object.entries(schema.properties ?? {}).map(([key, s]) => {
        const value = fromSchema(s, options, key, depth + 1);
        return [
          key,
          required.has(key)
            ? value
            : fc.oneof(
                { weight: 2, arbitrary: fc.constant(absent) },
                { weight: 1, arbitrary: value },
              ),
        ] as const;
      });
      const record = fc
        .record(Object.fromEntries(properties))
        .map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== absent)));
      const extra = fc.dictionary(fc.constantFrom(...options.extraKeys), options.hostile, {
        maxKeys: 2,
      });
      return fc
        .tuple(record, fc.option(extra, { freq: 3 }))
        .map(([declared, more]) => ({ ...(more ?? {}), ...(declared as object) }));
    }
    case "array":
      return fc.array(fromSchema(schema.items ?? {}, options, property, depth + 1), {
        maxLength: Math.min(schema.maxItems ?? 3, 3),
      });
    case "string": {
      const known = options.known?.(property) ?? [];
      const shaped = matching(schema.pattern) ?? fc.string({ maxLength: 40 });
      const bounded = shaped.filter((s) => s.length <= (schema.maxLength ?? Infinity));
      return known.length > 0 ? fc.oneof(fc.constantFrom(...known), bounded) : bounded;
    }
    case "integer":
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 1_000_000 });
    case "number":
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case "boolean":
      return fc.boolean();
    case "null":
      return fc.constant(null);
    default:
      return options.hostile;
  }
}

/**
 * Strings the pattern accepts, near enough: fast-check reads no lookaheads, so they are
 * dropped, and what they would have refused is one more hostile value.
 */
function matching(pattern: string | undefined): fc.Arbitrary<string> | undefined {
  if (!pattern) return undefined;
  try {
    return fc.stringMatching(new RegExp(pattern.replace(/\(\?!(?:[^()]|\([^()]*\))*\)/g, "")));
  } catch {
    return undefined;
  }
}
