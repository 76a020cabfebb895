/** Content items, bundles and tasks as the Connect API shows them. */
import { type Static, Type } from "@sinclair/typebox";

const text = Type.Union([Type.String(), Type.Null()]);
const flag = Type.Union([Type.Boolean(), Type.Null()]);

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
});
export type ContentCreate = Static<typeof ContentCreate>;

export const ContentPatch = Type.Partial(ContentCreate);
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
