/** The tables as Kysely sees them. Times are RFC 3339 text; JSON columns are text. */
import type { Generated } from "kysely";

export interface UsersTable {
  guid: string;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  user_role: string;
  password_hash: string | null;
  locked: number;
  created_time: string;
  updated_time: string;
  active_time: string | null;
}

export interface ApiKeysTable {
  guid: string;
  user_guid: string;
  name: string;
  key_hash: string;
  created_time: string;
  last_used_time: string | null;
  revoked_time: string | null;
}

export interface EnvironmentsTable {
  id: Generated<number>;
  guid: string;
  name: string;
  cluster_name: string;
  title: string | null;
  description: string | null;
  matching: string;
  supervisor: string | null;
  managed_by: string | null;
  python: string | null;
  quarto: string | null;
  r: string | null;
  tensorflow: string | null;
  nodejs: string | null;
  volume_mounts: string;
  created_time: string;
  updated_time: string;
}

export interface CatalogRevisionTable {
  id: number;
  revision: number;
}

export interface Tables {
  catalog_revision: CatalogRevisionTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  environments: EnvironmentsTable;
}
