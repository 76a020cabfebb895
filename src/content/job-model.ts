/** A content item's jobs (builds, renders, processes) and a job's log, as the Connect API shows them. */
import { type Static, Type } from "@sinclair/typebox";

const text = Type.Union([Type.String(), Type.Null()]);

export const Job = Type.Object({
  id: Type.String(),
  ppid: text,
  pid: text,
  key: Type.String(),
  remote_id: text,
  app_id: Type.String(),
  app_guid: Type.String(),
  content_id: Type.String(),
  content_guid: Type.String(),
  variant_id: Type.String(),
  bundle_id: Type.String(),
  start_time: Type.String(),
  end_time: text,
  last_heartbeat_time: Type.String(),
  queued_time: text,
  queue_name: text,
  tag: Type.String(),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.Integer(),
  hostname: Type.String(),
  cluster: text,
  image: text,
  run_as: text,
});
export type Job = Static<typeof Job>;

export const JobLog = Type.Object({
  source: Type.String(),
  entries: Type.Array(
    Type.Object({ source: Type.String(), timestamp: Type.String(), data: Type.String() }),
  ),
});
export type JobLog = Static<typeof JobLog>;
