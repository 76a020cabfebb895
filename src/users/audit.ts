/**
 * Security events — sign-ins, refusals, throttling, password and role changes, ended
 * sessions. Slipway has no audit log yet: events go to the structured log (under the
 * request's correlation id when there is a request), each with `audit: true` and a dotted
 * `event` name, through this one function. An audit log plugs in here.
 */
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
      event: "password.changed" | "role.changed";
      user_guid: string;
      username: string;
      by: string;
      sessions_ended: number;
      role?: string;
    };

/** Where security events go: anything with pino's `info(object, message)`. */
export interface AuditSink {
  info(fields: object, message: string): void;
}

export function recordSecurityEvent(sink: AuditSink, event: SecurityEvent): void {
  sink.info({ audit: true, ...event }, `security event ${event.event}`);
}
