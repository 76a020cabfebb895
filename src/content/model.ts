/** Content items, bundles and tasks as the Connect API shows them. */
import { type Static, Type } from "@sinclair/typebox";

const text = Type.Union([Type.String(), Type.Null()]);
const flag = Type.Union([Type.Boolean(), Type.Null()]);

const count = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 1_000_000 }), Type.Null()], { description });
const seconds = (description: string) =>
  Type.Union([Type.Integer({ minimum: 0, maximum: 31_536_000 }), Type.Null()], {
    description: `${description} In seconds; null uses the server's default.`,
  });
const amount = (description: string) =>
  Type.Union([Type.Number({ minimum: 0, maximum: 1e15 }), Type.Null()], { description });

/** Connect's process settings of content: how many processes, and how long each waits. */
export const PROCESS_FIELDS = [
  "min_processes",
  "max_processes",
  "max_conns_per_process",
  "load_factor",
  "idle_timeout",
  "init_timeout",
  "connection_timeout",
  "read_timeout",
] as const;

/** Connect's resource settings of content: what a process may use or is given. */
export const RESOURCE_FIELDS = [
  "memory_limit",
  "memory_request",
  "cpu_limit",
  "cpu_request",
  "nvidia_gpu_limit",
  "amd_gpu_limit",
] as const;

/** Connect's process and resource settings of content, each null for the server's default. */
const ProcessSettings = Type.Object({
  min_processes: count("Processes kept running even when idle."),
  max_processes: count("Most processes the application runs at once."),
  max_conns_per_process: count("Most client connections one process takes."),
  load_factor: Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()], {
    description: "How eagerly more processes start, from 0 to 1.",
  }),
  idle_timeout: seconds("How long an idle process stays up."),
  init_timeout: seconds("How long an application may take to start answering."),
  connection_timeout: seconds("Longest a connection may pass with no data."),
  read_timeout: seconds("Longest a connection may pass without the client sending."),
  memory_limit: amount("Most memory a process may use, in bytes."),
  memory_request: amount("Memory reserved for a process, in bytes."),
  cpu_limit: amount("Most CPU a process may use, in cores."),
  cpu_request: amount("CPU reserved for a process, in cores."),
  nvidia_gpu_limit: count("NVIDIA GPUs a process gets."),
  amd_gpu_limit: count("AMD GPUs a process gets."),
});

/** Connect's rule for content names: what URLs and file systems can carry. */
export const CONTENT_NAME_PATTERN = "^[A-Za-z0-9_.-]{1,64}$";

export const Content = Type.Object({
  id: Type.String(),
  guid: Type.String(),
  name: Type.String(),
  title: text,
  description: Type.String(),
  access_type: Type.String(),
  owner_guid: Type.String(),
  app_mode: text,
  content_category: Type.String(),
  parameterized: Type.Boolean(),
  created_time: Type.String(),
  last_deployed_time: text,
  bundle_id: text,
  default_image_name: text,
  default_environment_guid: text,
  default_r_environment_management: flag,
  default_py_environment_management: flag,
  image_name: text,
  environment_guid: text,
  cluster_name: text,
  r_version: text,
  py_version: text,
  quarto_version: text,
  app_role: Type.String(),
  content_url: Type.String(),
  dashboard_url: Type.String(),
  ...ProcessSettings.properties,
  /** With `include=owner`. */
  owner: Type.Optional(
    Type.Union([
      Type.Object({
        guid: Type.String(),
        username: Type.String(),
        first_name: Type.String(),
        last_name: Type.String(),
      }),
      Type.Null(),
    ]),
  ),
  /** With `include=tags`: its tags, as `/v1/tags` answers them. */
  tags: Type.Optional(Type.Array(Type.Object({}, { additionalProperties: true }))),
  /** With `include=vanity_url`: its vanity path, or null. */
  vanity_url: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export type Content = Static<typeof Content>;

export const ContentCreate = Type.Object({
  name: Type.String({
    pattern: CONTENT_NAME_PATTERN,
    description: "1-64 letters, digits, '_', '.' or '-'.",
  }),
  title: Type.Optional(Type.Union([Type.String({ maxLength: 1024 }), Type.Null()])),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  default_image_name: Type.Optional(text),
  default_environment_guid: Type.Optional(text),
  default_r_environment_management: Type.Optional(flag),
  default_py_environment_management: Type.Optional(flag),
  access_type: Type.Optional(
    Type.Union([Type.Literal("all"), Type.Literal("logged_in"), Type.Literal("acl")], {
      description:
        "Who may view: anyone (all), signed-in users (logged_in), or those listed (acl).",
    }),
  ),
  ...Type.Partial(ProcessSettings).properties,
});
export type ContentCreate = Static<typeof ContentCreate>;

export const ContentPatch = Type.Composite([
  Type.Partial(ContentCreate),
  Type.Object({
    owner_guid: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "Administrators only." }),
    ),
  }),
]);
export type ContentPatch = Static<typeof ContentPatch>;

export const Bundle = Type.Object({
  id: Type.String(),
  content_guid: Type.String(),
  created_time: Type.String(),
  active: Type.Boolean(),
  size: Type.Integer(),
  r_version: text,
  py_version: text,
  quarto_version: text,
  image_name: text,
  environment_guid: text,
  cluster_name: text,
  metadata: Type.Object({}, { additionalProperties: true }),
});
export type Bundle = Static<typeof Bundle>;

export const Task = Type.Object({
  id: Type.String(),
  output: Type.Array(Type.String()),
  result: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  finished: Type.Boolean(),
  code: Type.Integer(),
  error: Type.String(),
  last: Type.Integer(),
  user_id: Type.Integer(),
});
export type Task = Static<typeof Task>;

/** The server's defaults and limits for content's process and resource settings. */
export const ContentDefaults = Type.Object({
  ...Type.Pick(ProcessSettings, [...PROCESS_FIELDS]).properties,
  max_processes_limit: Type.Integer({
    description: "Highest min_processes and max_processes content may ask for.",
  }),
  backend: Type.String({ description: "The runner content runs on." }),
  enforced_resources: Type.Array(Type.String(), {
    description: "Resource settings this runner can enforce; others are refused above 0.",
  }),
});
export type ContentDefaults = Static<typeof ContentDefaults>;
