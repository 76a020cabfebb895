/**
 * One log line per request, written when it is answered: method, URL, status, time taken and
 * the correlation id. Fastify writes a second one as each request arrives, which doubles the
 * log of the content proxy (every request a visitor's browser or client makes) and costs it a
 * write per request.
 */
import { type FastifyReply, type FastifyRequest, LogController } from "fastify";

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
