/** Users and groups as the API lists them. */
import { type Static, Type } from "@sinclair/typebox";

export const User = Type.Object({
  guid: Type.String(),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  user_role: Type.String(),
  created_time: Type.String(),
  updated_time: Type.String(),
  active_time: Type.Union([Type.String(), Type.Null()]),
  confirmed: Type.Boolean(),
  locked: Type.Boolean(),
  external_id: Type.Union([Type.String(), Type.Null()]),
});
export type User = Static<typeof User>;

export const Group = Type.Object({
  guid: Type.String(),
  name: Type.String(),
  owner_guid: Type.Union([Type.String(), Type.Null()]),
});
export type Group = Static<typeof Group>;

/** Connect's paged list: `results`, the page number asked for, and how many match in all. */
export const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({ results: Type.Array(item), current_page: Type.Integer(), total: Type.Integer() });
export interface Paged<T> {
  results: T[];
  current_page: number;
  total: number;
}
