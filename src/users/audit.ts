/**
 * Security events and changes — sign-ins, refusals, throttling, password and role changes,
 * locks, and every change made through the API — go through this one funnel: to the
 * structured log (under the request's correlation id when there is a request), each with
 * `audit: true` and an `event` name, and to the audit log table that
 * `GET /v1/audit_logs` pages through.
 */
import type { Kysely } from "kysely";
import { insertAuditLog } from "../store/audit-logs.js";
import type { Tables } from "../store/schema.js";

export type SecurityEvent =
  | { event: "sign_in.succeeded"; user_guid: string; username: string; address: string }
  | {
      event: "sign_in.refused";
      username: string;
      address: string;
      reason: "wrong_password" | "locked";
    }
  | {
      event: "sign_in.throttled";
      username: string;
      address: string;
      throttled: "user" | "address";
      retry_after_seconds: number;
    }
  | { event: "session.ended"; user_guid: string; reason: "sign_out" }
  | {
      event: "password.changed" | "role.changed" | "user.locked" | "user.unlocked";
      user_guid: string;
      username: string;
      by: string;
      sessions_ended: number;
      role?: string;
    };

/** Where security events go: anything with pino's `info(object, message)` and `error`. */
export interface AuditSink {
  info(fields: object, message: string): void;
  error?(fields: object, message: string): void;
}

/** One entry of the audit log: who did what. */
export interface AuditEntry {
  /** The acting user; null when nobody signed in acts (a refused sign-in, the CLI). */
  actor: { guid: string; username: string } | null;
  /** Shown when there is no actor, such as "cli" or the user name someone tried. */
  actorName?: string;
  action: string;
  description: string;
}

export async function recordSecurityEvent(
  sink: AuditSink,
  event: SecurityEvent,
  db?: Kysely<Tables>,
): Promise<void> {
  sink.info({ audit: true, ...event }, `security event ${event.event}`);
  if (db) await writeEntry(sink, db, securityEntry(event));
}

/** Records a change in the log and the audit table. */
export async function recordChange(
  sink: AuditSink,
  db: Kysely<Tables>,
  entry: AuditEntry,
): Promise<void> {
  sink.info(
    { audit: true, event: entry.action, by: entry.actor?.username ?? entry.actorName },
    entry.description,
  );
  await writeEntry(sink, db, entry);
}

async function writeEntry(sink: AuditSink, db: Kysely<Tables>, entry: AuditEntry) {
  try {
    await insertAuditLog(db, {
      time: new Date().toISOString(),
      user_guid: entry.actor?.guid ?? null,
      user_description: entry.actor?.username ?? entry.actorName ?? "",
      action: entry.action,
      event_description: entry.description,
    });
  } catch (error) {
    // The change itself is done: a full disk must not turn it into a failure after the fact.
    sink.error?.({ err: error, audit: true }, `could not write the audit log: ${entry.action}`);
  }
}

function securityEntry(event: SecurityEvent): AuditEntry {
  switch (event.event) {
    case "sign_in.succeeded":
      return {
        actor: { guid: event.user_guid, username: event.username },
        action: event.event,
        description: `${event.username} signed in from ${event.address}`,
      };
    case "sign_in.refused":
      return {
        actor: null,
        actorName: event.username,
        action: event.event,
        description: `Sign-in as ${event.username} from ${event.address} refused (${event.reason.replace("_", " ")})`,
      };
    case "sign_in.throttled":
      return {
        actor: null,
        actorName: event.username,
        action: event.event,
        description: `Sign-in as ${event.username} from ${event.address} throttled for ${event.retry_after_seconds} seconds (per ${event.throttled})`,
      };
    case "session.ended":
      return {
        actor: null,
        actorName: event.user_guid,
        action: event.event,
        description: `User ${event.user_guid} signed out`,
      };
    default: {
      const what =
        event.event === "role.changed"
          ? `changed the role of ${event.username} to ${event.role}`
          : event.event === "password.changed"
            ? `changed the password of ${event.username}`
            : event.event === "user.locked"
              ? `locked ${event.username}`
              : `unlocked ${event.username}`;
      return {
        actor: null,
        actorName: event.by,
        action: event.event,
        description: `${event.by} ${what}; ${event.sessions_ended} sessions ended`,
      };
    }
  }
}
