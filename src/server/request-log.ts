/**
 * One log line per request, written when it is answered: method, URL, status, time taken and
 * the correlation id. Fastify writes a second one as each request arrives, which doubles the
 * log of the content proxy (every request a visitor's browser or client makes) and costs it a
 * write per request.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import {
  type FastifyBaseLogger,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";

export class OneLineRequestLog extends LogController {
  constructor() {
    super({ requestIdLogLabel: "correlation_id" });
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const line = { req: request, res: reply, responseTime: reply.elapsedTime };
    if (error) reply.log.error({ ...line, err: error }, "request errored");
    else reply.log.info(line, "request completed");
  }
}

/**
 * The same line for a request answered outside Fastify (the content fast path), with the
 * fields Fastify's serializers give; `log` must have none for req and res.
 */
export function logCompleted(
  log: FastifyBaseLogger,
  correlationId: string,
  request: IncomingMessage,
  client: { remoteAddress?: string; remotePort?: number },
  response: ServerResponse,
  responseTime: number,
): void {
  log.info(
    {
      correlation_id: correlationId,
      req: {
        method: request.method,
        url: request.url,
        host: request.headers.host,
        remoteAddress: client.remoteAddress,
        remotePort: client.remotePort,
      },
      res: { statusCode: response.statusCode },
      responseTime,
    },
    "request completed",
  );
}
