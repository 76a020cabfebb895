/** Who may use content and environments, in the shapes the API answers with. */
import { type Static, Type } from "@sinclair/typebox";

/** One user or group given a role on a content item, besides its owner. */
export const ContentPermission = Type.Object({
  id: Type.String(),
  content_guid: Type.String(),
  principal_guid: Type.String(),
  principal_type: Type.String(),
  role: Type.String(),
});
export type ContentPermission = Static<typeof ContentPermission>;

/** Connect's shape, as rsconnect reads it: one of user_guid and group_guid is set. */
export const EnvironmentPermission = Type.Object({
  guid: Type.String(),
  environment_guid: Type.String(),
  user_guid: Type.Union([Type.String(), Type.Null()]),
  group_guid: Type.Union([Type.String(), Type.Null()]),
  created_time: Type.String(),
});
export type EnvironmentPermission = Static<typeof EnvironmentPermission>;
