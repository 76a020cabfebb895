/** Tags and vanity URLs of content, as the API shows them. */
import { type Static, Type } from "@sinclair/typebox";

export const Tag = Type.Object({
  id: Type.String(),
  name: Type.String(),
  parent_id: Type.Union([Type.String(), Type.Null()]),
  created_time: Type.String(),
  updated_time: Type.String(),
});
export type Tag = Static<typeof Tag>;

export const Vanity = Type.Object({
  content_guid: Type.String(),
  path: Type.String(),
  created_time: Type.String(),
});
export type Vanity = Static<typeof Vanity>;
