/**
 * The execution environment: one schema gives the TypeScript types, the request validation
 * (API and files) and the OpenAPI document.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";

export const MATCHING = ["any", "exact", "none"] as const;
export type Matching = (typeof MATCHING)[number];

const MatchingSchema = Type.Union(
  MATCHING.map((m) => Type.Literal(m)),
  {
    description:
      "any: selectable automatically; exact: only when the content asks for it; none: disabled.",
  },
);

/**
 * A nullable value for response schemas only: OpenAPI's `nullable` lets the serializer write
 * each field directly, where a union with null makes it test every branch of every object.
 */
function Nullable<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, nullable: true });
}

export const PULL_POLICIES = ["always", "if-not-present", "never"] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

export const RUNTIMES = ["python", "r", "quarto"] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** Runtimes an environment can describe; selection only uses {@link RUNTIMES}. */
export const INSTALLATION_FIELDS = ["python", "quarto", "r", "tensorflow", "nodejs"] as const;
export type InstallationField = (typeof INSTALLATION_FIELDS)[number];

/** A dotted numeric version: `4`, `4.3`, `3.11.3`, `1.3.340`. */
export const VERSION_PATTERN = "^[0-9]+(\\.[0-9]+)*$";
/** An absolute path with no NUL byte and no `..` segment. */
export const ABSOLUTE_PATH_PATTERN = "^(?!.*(^|/)\\.\\.(/|$))/[^\\u0000]*$";

export const Installation = Type.Object({
  version: Type.String({
    pattern: VERSION_PATTERN,
    maxLength: 64,
    description: "Dotted numeric version of the installation, such as 3.11.3.",
  }),
  path: Type.String({
    pattern: ABSOLUTE_PATH_PATTERN,
    maxLength: 4096,
    description: "Absolute path to the interpreter's executable inside the image.",
  }),
});
export type Installation = Static<typeof Installation>;

export const Installations = Type.Union(
  [Type.Object({ installations: Type.Array(Installation, { maxItems: 100 }) }), Type.Null()],
  { description: "The installations of one runtime; null when the image has none." },
);
export type Installations = Static<typeof Installations>;

export const VolumeMount = Type.Object({
  source: Type.Object({
    volume_type: Type.Union([Type.Literal("nfs"), Type.Literal("pvc")]),
    nfs_host: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
    nfs_export_path: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
    pvc_name: Type.Optional(Type.Union([Type.String({ maxLength: 253 }), Type.Null()])),
  }),
  target: Type.Object({
    path: Type.String({ pattern: ABSOLUTE_PATH_PATTERN, maxLength: 4096 }),
    read_only: Type.Optional(Type.Boolean()),
  }),
});
export type VolumeMount = Static<typeof VolumeMount>;

const nullableText = (maxLength: number, description: string) =>
  Type.Union([Type.String({ maxLength }), Type.Null()], { description });

/** A DNS subdomain, as Kubernetes names its objects (service accounts, secrets). */
const OBJECT_NAME = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/** A label key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const LABEL_KEY =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_VALUE = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";

export const Toleration = Type.Object(
  {
    key: Type.Optional(Type.String({ pattern: LABEL_KEY, maxLength: 316 })),
    operator: Type.Optional(Type.Union([Type.Literal("Exists"), Type.Literal("Equal")])),
    value: Type.Optional(Type.String({ pattern: LABEL_VALUE, maxLength: 63 })),
    effect: Type.Optional(
      Type.Union([
        Type.Literal("NoSchedule"),
        Type.Literal("PreferNoSchedule"),
        Type.Literal("NoExecute"),
      ]),
    ),
    tolerationSeconds: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);

/**
 * Slipway's extension: where on the cluster the environment's jobs run and as whom. Copied into
 * each Job's pod by the Kubernetes runner; the other runners run on one machine and ignore it.
 */
export const schedulingFields = {
  node_selector: Type.Optional(
    Type.Union(
      [
        Type.Record(
          Type.String({ pattern: LABEL_KEY, maxLength: 316 }),
          Type.String({ pattern: LABEL_VALUE, maxLength: 63 }),
        ),
        Type.Null(),
      ],
      {
        description:
          "Slipway's extension (Kubernetes): node labels a node must carry to run this environment's jobs.",
      },
    ),
  ),
  tolerations: Type.Optional(
    Type.Union([Type.Array(Toleration, { maxItems: 50 }), Type.Null()], {
      description:
        "Slipway's extension (Kubernetes): taints this environment's jobs tolerate, in Kubernetes's own shape (key, operator, value, effect, tolerationSeconds).",
    }),
  ),
  service_account: Type.Optional(
    Type.Union([Type.String({ pattern: OBJECT_NAME, maxLength: 253 }), Type.Null()], {
      description:
        "Slipway's extension (Kubernetes): the service account this environment's pods run as; null for one with no API token.",
    }),
  ),
  image_pull_secrets: Type.Optional(
    Type.Union(
      [
        Type.Array(Type.String({ pattern: OBJECT_NAME, maxLength: 253 }), { maxItems: 20 }),
        Type.Null(),
      ],
      {
        description:
          "Slipway's extension (Kubernetes): names of docker-registry Secrets in the jobs' namespace the image is pulled with.",
      },
    ),
  ),
};

/** The fields an administrator may set on create; PUT accepts the same minus name/cluster. */
export const editableFields = {
  title: Type.Optional(nullableText(1024, "Human-readable title shown to publishers.")),
  description: Type.Optional(nullableText(4096, "What this environment is for.")),
  matching: Type.Optional(MatchingSchema),
  supervisor: Type.Optional(
    Type.Union([Type.String({ pattern: ABSOLUTE_PATH_PATTERN, maxLength: 4096 }), Type.Null()], {
      description: "Absolute path of a program that wraps every build and run command.",
    }),
  ),
  python: Type.Optional(Installations),
  quarto: Type.Optional(Installations),
  r: Type.Optional(Installations),
  tensorflow: Type.Optional(Installations),
  nodejs: Type.Optional(Installations),
  volume_mounts: Type.Optional(
    Type.Union([Type.Array(VolumeMount, { maxItems: 50 }), Type.Null()]),
  ),
  image_pull_policy: Type.Optional(
    Type.Union([...PULL_POLICIES.map((p) => Type.Literal(p)), Type.Null()], {
      description:
        "Slipway's extension: when to pull the image (always, if-not-present, never); null uses the server's default.",
    }),
  ),
  ...schedulingFields,
};

/** An image reference: registry/repository[:tag][@digest], as container engines accept it. */
export const IMAGE_NAME_PATTERN =
  "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$";

export const EnvironmentCreate = Type.Object({
  name: Type.String({
    minLength: 1,
    maxLength: 512,
    pattern: IMAGE_NAME_PATTERN,
    description: "The container image. Unique: one environment per image.",
  }),
  cluster_name: Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: 'Always "Kubernetes".' }),
  ),
  ...editableFields,
});
export type EnvironmentCreate = Static<typeof EnvironmentCreate>;

export const EnvironmentUpdate = Type.Object({
  name: Type.Optional(Type.String({ description: "Immutable; accepted only when unchanged." })),
  cluster_name: Type.Optional(
    Type.String({ description: "Immutable; accepted only when unchanged." }),
  ),
  ...editableFields,
});
export type EnvironmentUpdate = Static<typeof EnvironmentUpdate>;

const InstallationList = Nullable(
  Type.Object({
    installations: Type.Array(Type.Object({ version: Type.String(), path: Type.String() })),
  }),
);

export const Environment = Type.Object({
  id: Type.String(),
  guid: Type.String({ format: "uuid" }),
  created_time: Type.String({ format: "date-time" }),
  updated_time: Type.String({ format: "date-time" }),
  title: Nullable(Type.String()),
  description: Nullable(Type.String()),
  cluster_name: Type.String(),
  name: Type.String(),
  environment_type: Type.String(),
  matching: Type.Unsafe<Matching>(Type.String({ enum: [...MATCHING] })),
  supervisor: Nullable(Type.String()),
  managed_by: Nullable(
    Type.String({
      description: "What manages this environment, such as a file path; null when the API does.",
    }),
  ),
  python: InstallationList,
  quarto: InstallationList,
  r: InstallationList,
  tensorflow: InstallationList,
  nodejs: InstallationList,
  volume_mounts: Type.Array(VolumeMount),
  image_pull_policy: Nullable(Type.Unsafe<PullPolicy>(Type.String({ enum: [...PULL_POLICIES] }))),
  node_selector: Nullable(Type.Record(Type.String(), Type.String())),
  tolerations: Nullable(Type.Array(Toleration)),
  service_account: Nullable(Type.String()),
  image_pull_secrets: Nullable(Type.Array(Type.String())),
});
export type Environment = Static<typeof Environment>;

/** Slipway's extension: an environment taken out of the catalog while content still used it. */
export const RetiredEnvironment = Type.Composite([
  Environment,
  Type.Object({
    retired_time: Type.String({ format: "date-time" }),
    matching_before: Type.Unsafe<Matching>(
      Type.String({
        enum: [...MATCHING],
        description:
          "The matching it had before retiring forced it to none; a restore gives it back.",
      }),
    ),
  }),
]);
export type RetiredEnvironment = Static<typeof RetiredEnvironment>;

export const DEFAULT_CLUSTER_NAME = "Kubernetes";
/** The cluster of environments that describe the server's own host rather than an image. */
export const LOCAL_CLUSTER_NAME = "Local";

/** Why a cluster name is refused, or undefined when it is one Slipway runs. */
export function clusterNameProblem(name: string): string | undefined {
  return name === DEFAULT_CLUSTER_NAME || name === LOCAL_CLUSTER_NAME
    ? undefined
    : `cluster_name must be "${DEFAULT_CLUSTER_NAME}" (or "${LOCAL_CLUSTER_NAME}" for this machine's own installations)`;
}

/** Readable rules for the fields whose schema patterns say little to a person. */
export const FIELD_RULES = {
  name: "must be a container image name such as ghcr.io/org/image:tag",
  matching: "must be one of any, exact, none",
  path: "must be an absolute path without '..'",
  version: "must be a dotted numeric version such as 3.11.3",
  supervisor: "must be an absolute path without '..'",
} as const;

/** Everything stored for an environment except what the server assigns. */
export type EnvironmentFields = Omit<
  Environment,
  "id" | "guid" | "created_time" | "updated_time" | "environment_type"
>;

/** A create body (from the API or a file) with the API's defaults for what it leaves out. */
export function fieldsWithDefaults(
  body: EnvironmentCreate,
  managedBy: string | null,
): EnvironmentFields {
  return {
    name: body.name,
    cluster_name: body.cluster_name ?? DEFAULT_CLUSTER_NAME,
    title: body.title ?? null,
    description: body.description ?? null,
    matching: body.matching ?? "any",
    supervisor: body.supervisor ?? null,
    managed_by: managedBy,
    python: body.python ?? null,
    quarto: body.quarto ?? null,
    r: body.r ?? null,
    tensorflow: body.tensorflow ?? null,
    nodejs: body.nodejs ?? null,
    volume_mounts: body.volume_mounts ?? [],
    image_pull_policy: body.image_pull_policy ?? null,
    node_selector: body.node_selector ?? null,
    tolerations: body.tolerations ?? null,
    service_account: body.service_account ?? null,
    image_pull_secrets: body.image_pull_secrets ?? null,
  };
}
