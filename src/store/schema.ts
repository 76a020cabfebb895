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
  /** always, if-not-present or never; null leaves it to the server's default. */
  image_pull_policy: string | null;
  /** JSON of the Kubernetes scheduling fields; null when unset. */
  node_selector: string | null;
  tolerations: string | null;
  service_account: string | null;
  image_pull_secrets: string | null;
  created_time: string;
  updated_time: string;
}

/** An environment taken out of the catalog while content still used it. */
export interface RetiredEnvironmentsTable extends Omit<EnvironmentsTable, "id"> {
  /** The id it had in the catalog, kept so a restore gives it back. */
  id: number;
  retired_time: string;
  /** The matching it had in the catalog; retiring forces `matching` to none. */
  matching_before: string;
}

/** The git repository, branch and folder a content item deploys from. */
export interface ContentRepositoriesTable {
  content_guid: string;
  repository: string;
  branch: string;
  directory: string;
  polling: number;
  /** The commit last deployed from the branch. */
  last_commit: string | null;
  last_checked_time: string | null;
  /** Why the last look at the repository failed; null once one succeeds. */
  last_error: string | null;
  created_time: string;
  updated_time: string;
}

export interface ContentTable {
  /** Connect's numeric id, from the content_ids counter. */
  id: number;
  guid: string;
  name: string;
  title: string | null;
  description: string;
  owner_guid: string;
  app_mode: string | null;
  content_category: string;
  created_time: string;
  last_deployed_time: string | null;
  bundle_id: number | null;
  default_image_name: string | null;
  default_environment_guid: string | null;
  default_r_environment_management: number | null;
  default_py_environment_management: number | null;
  image_name: string | null;
  environment_guid: string | null;
  cluster_name: string | null;
  r_version: string | null;
  py_version: string | null;
  quarto_version: string | null;
  /** 1 when the publisher's environment choice changed since the last build. */
  needs_rebuild: number;
  min_processes: number | null;
  max_processes: number | null;
  max_conns_per_process: number | null;
  load_factor: number | null;
  idle_timeout: number | null;
  init_timeout: number | null;
  connection_timeout: number | null;
  read_timeout: number | null;
  memory_limit: number | null;
  memory_request: number | null;
  cpu_limit: number | null;
  cpu_request: number | null;
  nvidia_gpu_limit: number | null;
  amd_gpu_limit: number | null;
  /** Goes up with every write to the content's environment variables: processes restart. */
  variables_revision: Generated<number>;
  /** all (anyone, signed in or not), logged_in, or acl (the owner and those listed). */
  access_type: Generated<string>;
}

export interface BundlesTable {
  id: Generated<number>;
  content_guid: string;
  created_time: string;
  size: number;
  manifest: string;
  r_version: string | null;
  py_version: string | null;
  quarto_version: string | null;
  image_name: string | null;
  environment_guid: string | null;
  cluster_name: string | null;
  /** The recorded selection (environment and installations) as JSON, once deployed. */
  pick: string | null;
  /** What the bundle was built into (`Built`, as JSON), once built. */
  build: string | null;
  /** The packages its build installed (`InstalledPackage[]`, as JSON), once built. */
  packages: string | null;
  /** What the upload said of itself (source, source_repo, source_branch, source_commit), as JSON. */
  metadata: string | null;
}

export interface ContentVariablesTable {
  content_guid: string;
  name: string;
  /** Encrypted with the server's key; never stored or logged in the clear. */
  value: string;
}

export interface TasksTable {
  id: string;
  kind: string;
  content_guid: string | null;
  bundle_id: number | null;
  user_guid: string | null;
  created_time: string;
  finished_time: string | null;
  code: number;
  error: string;
  result: string | null;
  /** The server process running the task, so a restarted server knows what it abandoned. */
  server_id: string;
}

export interface TaskOutputTable {
  task_id: string;
  seq: number;
  line: string;
}

export interface SessionsTable {
  /** SHA-256 of the cookie's random id: the id itself is never stored. */
  id_hash: string;
  user_guid: string;
  csrf_token: string;
  created_time: string;
  expires_time: string;
}

export interface SignInFailuresTable {
  /** "user:<name>" or "address:<client address>". */
  key: string;
  /** Sign-ins counted as failed in a row; an attempt counts before its password is checked. */
  failures: number;
  last_failure_time: string;
}

/** One build, render or application process: what was started, where, and how it is doing. */
export interface RunsTable {
  id: Generated<number>;
  /** Connect's job key: random, for URLs. */
  key: string;
  /** The job's name on the backend. */
  name: string;
  content_guid: string;
  bundle_id: number;
  task_id: string | null;
  kind: string;
  /** Which process of the content this is (applications); null for builds and renders. */
  slot: number | null;
  spec_hash: string;
  image: string | null;
  backend: string;
  /** 1 for a draft bundle's preview process, which stays the draft's until it is activated. */
  preview: Generated<number>;
  /** The backend's handle, as JSON; null until the backend has answered the start. */
  handle: string | null;
  /** starting | ready | stopping | exited */
  status: string;
  /** Where the server reaches the process, as JSON, once ready. */
  endpoint: string | null;
  exit_code: number | null;
  reason: string | null;
  server_id: string;
  created_time: string;
  ready_time: string | null;
  ended_time: string | null;
}

export interface InstallationTable {
  id: number;
  instance: string;
}

export interface CatalogRevisionTable {
  id: number;
  revision: number;
}

export interface ContentIdsTable {
  key: number;
  /** The last content id handed out. */
  value: number;
}

export interface GroupsTable {
  guid: string;
  name: string;
  owner_guid: string | null;
  created_time: string;
}

export interface GroupMembersTable {
  group_guid: string;
  user_guid: string;
}

/** Who besides its owner may see (viewer) or change (owner) a content item. */
export interface ContentPermissionsTable {
  id: Generated<number>;
  content_guid: string;
  principal_guid: string;
  /** user or group */
  principal_type: string;
  /** viewer or owner */
  role: string;
}

/** Who may use a restricted environment; an environment with none is open to every publisher. */
export interface EnvironmentPermissionsTable {
  guid: string;
  environment_guid: string;
  principal_guid: string;
  principal_type: string;
  created_time: string;
}

export interface AuditLogsTable {
  id: Generated<number>;
  time: string;
  /** Who acted; null for the command line and for events with no signed-in actor. */
  user_guid: string | null;
  user_description: string;
  action: string;
  event_description: string;
}

/** A tree of tags; deleting one deletes its descendants. */
export interface TagsTable {
  id: Generated<number>;
  name: string;
  parent_id: number | null;
  created_time: string;
  updated_time: string;
}

export interface ContentTagsTable {
  content_guid: string;
  tag_id: number;
}

/** A content item's vanity URL: a path, with a slash at each end, that serves it. */
export interface VanitiesTable {
  content_guid: string;
  path: string;
  created_time: string;
}

/** A named lease held by one server until it expires (replicas sharing their work). */
export interface LeasesTable {
  name: string;
  holder: string;
  /** Milliseconds since the epoch; a lease past it is anyone's. */
  expires_ms: number;
}

export interface ContentLoadTable {
  content_key: string;
  server_id: string;
  connections: number;
  waiting: number;
  last_active_ms: number | null;
  /** JSON: [run id, connections, idle since (ms) or null] per process the server proxies to. */
  runs: string;
  updated_ms: number;
}

export interface Tables {
  leases: LeasesTable;
  content_load: ContentLoadTable;
  vanities: VanitiesTable;
  tags: TagsTable;
  content_tags: ContentTagsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  content_permissions: ContentPermissionsTable;
  environment_permissions: EnvironmentPermissionsTable;
  audit_logs: AuditLogsTable;
  sessions: SessionsTable;
  sign_in_failures: SignInFailuresTable;
  content: ContentTable;
  bundles: BundlesTable;
  tasks: TasksTable;
  task_output: TaskOutputTable;
  catalog_revision: CatalogRevisionTable;
  runs: RunsTable;
  installation: InstallationTable;
  users: UsersTable;
  api_keys: ApiKeysTable;
  environments: EnvironmentsTable;
  retired_environments: RetiredEnvironmentsTable;
  content_repositories: ContentRepositoriesTable;
  content_variables: ContentVariablesTable;
  content_ids: ContentIdsTable;
}
