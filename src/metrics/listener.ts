/**
 * `/metrics` on a listener of its own (Connect's `[Metrics] PrometheusListen`), so scrapes
 * never pass the API's authentication and the port can be kept inside the cluster while the
 * API is public. It answers that one path and nothing else.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { ApiError } from "../errors.js";
import type { Metrics } from "./metrics.js";

export interface MetricsListener {
  /** Where it listens, as http://HOST:PORT. */
  readonly url: string;
  close(): Promise<void>;
}

export async function listenForScrapes(
  metrics: Metrics,
  address: string,
  onError: (error: unknown) => void,
): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    answer(metrics, request, response).catch((error) => {
      onError(error);
      send(response, new ApiError("internal", "Collecting the metrics failed."));
    });
  });
  const [host, port] = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(
  metrics: Metrics,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = (request.url ?? "/").split("?")[0];
  if (path !== "/metrics") {
    return send(response, new ApiError("notFound", `No such endpoint: ${path}; scrape /metrics.`));
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.setHeader("Allow", "GET, HEAD");
    return send(
      response,
      new ApiError("badRequest", "/metrics answers GET and HEAD only.", { status: 405 }),
    );
  }
  const { contentType, body } = await metrics.exposition();
  response.writeHead(200, { "Content-Type": contentType });
  response.end(request.method === "HEAD" ? undefined : body);
}

function send(response: ServerResponse, error: ApiError): void {
  if (response.headersSent) return void response.destroy();
  response.writeHead(error.status, { "Content-Type": "application/json; charset=utf-8" });
  response.end(JSON.stringify(error.toBody()));
}

/** HOST:PORT, [V6]:PORT or :PORT (every interface), as the setting's check allows. */
function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "") || "0.0.0.0";
  return [host, Number(address.slice(at + 1))];
}
