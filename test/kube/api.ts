/**
 * The API server's semantics over the store: admission (namespaces, service accounts),
 * defaulting, validation, status subresources, the four patch flavours, server-side apply,
 * graceful and finalizer-held deletion with propagation policies, and chunked lists.
 * Routes and controllers both go through here, so a Job's pods are admitted like a client's.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { applyDefaults, jobSelectorLabels } from "./defaults.js";
import { applyMerge, fieldSet, jsonPatch, mergePatch, strategicMergePatch } from "./patch.js";
import { apiVersionOf, type ResourceType, resource } from "./resources.js";
import {
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.js";
import {
  badRequest,
  expired,
  forbidden,
  notFound,
  StatusError,
  unsupportedMediaType,
} from "./status-error.js";
import type { Store } from "./store.js";
import { clone, type KubeObject, now } from "./types.js";
import { checkFields, type FieldValidation } from "./unknown-fields.js";
import { validateObject } from "./validation.js";

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  force?: boolean;
  subresource?: string;
  /** The request's `fieldValidation`; the Api's default when absent. */
  fieldValidation?: FieldValidation;
  /** Receives the warnings of `fieldValidation=Warn` (sent as Warning headers). */
  warnings?: string[];
}

export interface DeleteOptions {
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ApiHooks {
  /** Gives a new Service its clusterIP. */
  allocateClusterIP?: (service: KubeObject) => string | undefined;
  /** fieldValidation when a request gives none: Warn, as the API server, unless a test asks for Strict. */
  fieldValidation?: FieldValidation;
}

export class Api {
  constructor(
    readonly store: Store,
    readonly hooks: ApiHooks = {},
  ) {}

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.store.get(type, namespace, name);
    if (!found) throw notFound(type, name);
    return withType(type, found);
  }

  list(type: ResourceType, namespace: string | undefined, query: ListQuery = {}): ListResult {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, type.kind);
    const resourceVersion = String(this.store.resourceVersion);
    let items = this.store
      .list(type, namespace)
      .filter((o) => matchesRequirements(labels, o.metadata.labels) && matchesFields(fields, o));
    if (query.continue) {
      const token = decodeContinue(query.continue);
      if (token.rv < this.store.oldestResumableVersion)
        throw expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      items = items.filter((o) => position(o) > token.after);
    }
    if (query.limit && query.limit > 0 && items.length > query.limit) {
      const page = items.slice(0, query.limit);
      return {
        items: page,
        resourceVersion,
        continue: encodeContinue({
          rv: Number(resourceVersion),
          after: position(page[page.length - 1]!),
        }),
        remainingItemCount: items.length - page.length,
      };
    }
    return { items, resourceVersion };
  }

  async create(
    type: ResourceType,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    const object = this.#asObject(type, body);
    if (type.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace)
        throw badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      object.metadata.namespace = namespace ?? object.metadata.namespace ?? "default";
      this.#admitNamespace(type, object);
    } else delete object.metadata.namespace;
    if (!object.metadata.name && object.metadata.generateName)
      object.metadata.name = `${object.metadata.generateName}${randomSuffix()}`;
    for (const f of [
      "uid",
      "resourceVersion",
      "creationTimestamp",
      "deletionTimestamp",
      "generation",
    ] as const)
      delete object.metadata[f];
    if (type.status && object.kind !== "Service") delete object.status;
    this.#checkFields(type, object, options);
    applyDefaults(object);
    await validateObject(type, object);
    this.#admit(type, object);
    object.metadata.uid = randomUUID();
    if (object.kind === "Job") this.#jobSelector(object);
    if (object.kind === "Service") {
      const spec = object.spec as { clusterIP?: string; clusterIPs?: string[]; type?: string };
      if (spec.clusterIP !== "None" && !spec.clusterIP && spec.type !== "ExternalName") {
        const ip = this.hooks.allocateClusterIP?.(object);
        if (ip) spec.clusterIP = ip;
      }
      if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
    }
    if (options.fieldManager && options.subresource === "apply")
      object.metadata.managedFields = [managedEntry(options.fieldManager, type, fieldSet(body))];
    if (options.dryRun) return withType(type, object);
    return withType(type, this.store.create(type, object));
  }

  async update(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    const incoming = this.#asObject(type, body);
    if (incoming.metadata.name && incoming.metadata.name !== name)
      throw badRequest("the name of the object does not match the name on the URL");
    const old = this.store.get(type, namespace, name);
    if (!old) throw notFound(type, name);
    if (options.subresource !== "status") this.#checkFields(type, incoming, options);
    return this.#write(type, old, incoming, options, incoming.metadata.resourceVersion);
  }

  async patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    raw: string,
    options: WriteOptions = {},
  ): Promise<KubeObject> {
    const flavour = contentType.split(";")[0]!.trim();
    const old = this.store.get(type, namespace, name);
    if (flavour === "application/apply-patch+yaml")
      return this.#apply(type, namespace, name, old, raw, options);
    if (!old) throw notFound(type, name);
    const patch = parseJson(raw);
    const live = withType(type, old);
    let next: unknown;
    if (flavour === "application/merge-patch+json") next = mergePatch(live, patch);
    else if (flavour === "application/strategic-merge-patch+json")
      next = strategicMergePatch(live, patch);
    else if (flavour === "application/json-patch+json") next = jsonPatch(live, patch);
    else throw unsupportedMediaType(contentType);
    const object = this.#asObject(type, next);
    if (options.subresource !== "status") this.#checkFields(type, object, options);
    const expected = (patch as { metadata?: { resourceVersion?: string } })?.metadata
      ?.resourceVersion;
    return this.#write(
      type,
      old,
      object,
      options,
      flavour === "application/json-patch+json" ? undefined : expected,
    );
  }

  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<KubeObject> {
    const old = this.store.get(type, namespace, name);
    if (!old) throw notFound(type, name);
    if (options.preconditions?.uid && options.preconditions.uid !== old.metadata.uid)
      throw new StatusError(
        409,
        "Conflict",
        `Precondition failed: UID in precondition: ${options.preconditions.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    if (options.dryRun) return withType(type, old);
    const policy = options.propagationPolicy ?? (type.plural === "jobs" ? "Orphan" : "Background");
    if (policy === "Orphan") this.#orphanDependents(old);
    const finalizers = [...(old.metadata.finalizers ?? [])];
    if (
      policy === "Foreground" &&
      this.#hasDependents(old) &&
      !finalizers.includes("foregroundDeletion")
    )
      finalizers.push("foregroundDeletion");
    if (type.plural === "namespaces") finalizers.push("kubernetes");
    const graceful = this.#graceSeconds(type, old, options.gracePeriodSeconds);
    if (finalizers.length || graceful !== undefined) {
      if (old.metadata.deletionTimestamp) return withType(type, old);
      const marked = this.store.mutate(type, namespace, name, (o) => {
        o.metadata.deletionTimestamp =
          graceful !== undefined
            ? new Date(Date.now() + graceful * 1000).toISOString().replace(/\.\d+Z$/, "Z")
            : now();
        if (graceful !== undefined) o.metadata.deletionGracePeriodSeconds = graceful;
        o.metadata.finalizers = finalizers.filter((f) => f !== "kubernetes");
        if (o.kind === "Namespace") (o.status as { phase: string }).phase = "Terminating";
        return true;
      })!;
      return withType(type, marked);
    }
    return withType(type, this.store.remove(type, namespace, name));
  }

  /** Removes an object whose deletion was held back, once nothing holds it any longer. */
  finalize(type: ResourceType, namespace: string | undefined, name: string): void {
    const current = this.store.get(type, namespace, name);
    if (current?.metadata.deletionTimestamp && !current.metadata.finalizers?.length)
      this.store.remove(type, namespace, name);
  }

  async #write(
    type: ResourceType,
    old: KubeObject,
    incoming: KubeObject,
    options: WriteOptions,
    expectedVersion: string | undefined,
  ): Promise<KubeObject> {
    let next: KubeObject;
    if (options.subresource === "status") {
      next = clone(old);
      next.status = incoming.status;
    } else {
      next = incoming;
      next.metadata.namespace = old.metadata.namespace;
      next.metadata.name = old.metadata.name;
      next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      if (type.status) next.status = old.status;
      applyDefaults(next);
      await validateObject(type, next, old);
    }
    next.metadata.uid = old.metadata.uid;
    next.metadata.creationTimestamp = old.metadata.creationTimestamp;
    next.metadata.managedFields = incoming.metadata.managedFields ?? old.metadata.managedFields;
    if (options.dryRun) return withType(type, next);
    const stored = this.store.replace(type, next, expectedVersion);
    if (
      stored.metadata.deletionTimestamp &&
      !stored.metadata.finalizers?.length &&
      !stored.metadata.deletionGracePeriodSeconds
    )
      this.store.remove(type, stored.metadata.namespace, stored.metadata.name!);
    return withType(type, stored);
  }

  async #apply(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    old: KubeObject | undefined,
    raw: string,
    options: WriteOptions,
  ): Promise<KubeObject> {
    if (!options.fieldManager)
      throw badRequest(
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
    let applied: unknown;
    try {
      applied = parseYaml(raw);
    } catch (error) {
      throw badRequest(`error decoding YAML: ${(error as Error).message}`);
    }
    const config = applied as KubeObject;
    if (!config?.apiVersion || !config.kind)
      throw badRequest("apiVersion and kind must be set in an apply patch");
    if (config.metadata?.name && config.metadata.name !== name)
      throw badRequest("the name of the object does not match the name on the URL");
    if (old) this.#checkFields(type, config, options);
    if (!old) {
      const body = clone(config);
      body.metadata = { ...body.metadata, name };
      return this.create(type, namespace, body, { ...options, subresource: "apply" });
    }
    const entries = old.metadata.managedFields ?? [];
    const previous = entries.find(
      (e) => e.manager === options.fieldManager && e.operation === "Apply",
    );
    const merged = applyMerge(withType(type, old), applied, previous?.fieldsV1) as KubeObject;
    const fields = fieldSet(applied);
    const sameFields = previous && JSON.stringify(previous.fieldsV1) === JSON.stringify(fields);
    merged.metadata.managedFields = [
      ...entries.filter((e) => e !== previous),
      sameFields ? previous : managedEntry(options.fieldManager, type, fields),
    ];
    return this.#write(type, old, this.#asObject(type, merged), options, undefined);
  }

  #checkFields(type: ResourceType, object: KubeObject, options: WriteOptions): void {
    if (type.plural === "selfsubjectaccessreviews") return;
    const warnings = checkFields(
      object,
      options.fieldValidation ?? this.hooks.fieldValidation ?? "Warn",
    );
    options.warnings?.push(...warnings);
  }

  #asObject(type: ResourceType, body: unknown): KubeObject {
    if (!body || typeof body !== "object" || Array.isArray(body))
      throw badRequest("the body of the request must be an object");
    const object = clone(body) as KubeObject;
    object.apiVersion ??= apiVersionOf(type);
    object.kind ??= type.kind;
    if (object.apiVersion !== apiVersionOf(type) || object.kind !== type.kind)
      throw badRequest(
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type)}) or kind (${object.kind} is not ${type.kind})`,
      );
    object.metadata ??= {};
    return object;
  }

  #admitNamespace(type: ResourceType, object: KubeObject): void {
    const ns = this.store.get(resource("namespaces"), undefined, object.metadata.namespace!);
    if (!ns) throw notFound(resource("namespaces"), object.metadata.namespace!);
    if (ns.metadata.deletionTimestamp)
      throw forbidden(
        type,
        object.metadata.name,
        `unable to create new content in namespace ${ns.metadata.name} because it is being terminated`,
      );
  }

  /** The ServiceAccount admission plugin: a pod's service account must exist. */
  #admit(type: ResourceType, object: KubeObject): void {
    if (object.kind !== "Pod") return;
    const sa = (object.spec as { serviceAccountName?: string }).serviceAccountName ?? "default";
    const ns = object.metadata.namespace!;
    if (!this.store.get(resource("serviceaccounts"), ns, sa))
      throw forbidden(
        type,
        object.metadata.name,
        `error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`,
      );
  }

  #jobSelector(job: KubeObject): void {
    const spec = job.spec as {
      manualSelector?: boolean;
      selector?: { matchLabels?: Record<string, string> };
      template: { metadata?: { labels?: Record<string, string> } };
    };
    if (spec.manualSelector) return;
    const labels = jobSelectorLabels(job);
    spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": job.metadata.uid! } };
    spec.template.metadata = {
      ...spec.template.metadata,
      labels: { ...spec.template.metadata?.labels, ...labels },
    };
  }

  #dependents(owner: KubeObject): { type: ResourceType; object: KubeObject }[] {
    const found: { type: ResourceType; object: KubeObject }[] = [];
    for (const plural of [
      "pods",
      "services",
      "endpointslices",
      "configmaps",
      "secrets",
      "persistentvolumeclaims",
      "jobs",
      "replicasets",
      "events",
    ]) {
      const type = resource(plural);
      for (const o of this.store.list(type, owner.metadata.namespace))
        if (o.metadata.ownerReferences?.some((r) => r.uid === owner.metadata.uid))
          found.push({ type, object: o });
    }
    return found;
  }

  #hasDependents(owner: KubeObject): boolean {
    return this.#dependents(owner).length > 0;
  }

  #orphanDependents(owner: KubeObject): void {
    for (const { type, object } of this.#dependents(owner))
      this.store.mutate(type, object.metadata.namespace, object.metadata.name!, (o) => {
        o.metadata.ownerReferences = o.metadata.ownerReferences?.filter(
          (r) => r.uid !== owner.metadata.uid,
        );
        if (!o.metadata.ownerReferences?.length) delete o.metadata.ownerReferences;
        return true;
      });
  }

  /** Pods running on the node are deleted gracefully: the kubelet stops them, then removes them. */
  #graceSeconds(
    type: ResourceType,
    object: KubeObject,
    requested: number | undefined,
  ): number | undefined {
    if (type.plural !== "pods") return undefined;
    const pod = object as KubeObject & {
      spec: { nodeName?: string; terminationGracePeriodSeconds?: number };
      status?: { phase?: string };
    };
    if (!pod.spec.nodeName || requested === 0) return undefined;
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return undefined;
    return requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
  }
}

function managedEntry(manager: string, type: ResourceType, fieldsV1: Record<string, unknown>) {
  return {
    manager,
    operation: "Apply" as const,
    apiVersion: apiVersionOf(type),
    time: now(),
    fieldsType: "FieldsV1" as const,
    fieldsV1,
  };
}

export function withType(type: ResourceType, object: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = object;
  return { apiVersion: apiVersionOf(type), kind: type.kind, ...rest } as KubeObject;
}

function position(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

function encodeContinue(token: { rv: number; after: string }): string {
  return Buffer.from(JSON.stringify(token)).toString("base64url");
}

function decodeContinue(text: string): { rv: number; after: string } {
  try {
    const token = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (typeof token.rv === "number" && typeof token.after === "string") return token;
  } catch {}
  throw badRequest(
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
  );
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
}

/** Five characters from the alphabet the API server uses for generateName. */
export function randomSuffix(): string {
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  return [...randomBytes(5)].map((b) => alphabet[b % alphabet.length]).join("");
}
