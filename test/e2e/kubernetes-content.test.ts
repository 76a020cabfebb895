/**
 * R and Python content other than an API on the Kubernetes runner, through a real server and
 * the loopback stand-in whose pods are Docker containers: a Shiny app answers its page and a
 * WebSocket session through the server's proxy to its Job's Service, and documents are
 * rendered in Jobs of the environment's image and served from the shared claim. What ran where
 * is read back from the stand-in's store, as the cluster recorded it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { resource } from "../kube/resources.js";
import type { KubeObject } from "../kube/types.js";
import { ensureDebianImage } from "../support/debian-image.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  type KubeServer,
  kubeServerUnavailable,
  NAMESPACE,
  startKubeServer,
} from "../support/kube-server.js";
import { unavailable } from "../support/requirements.js";

const SHINY_APP = `library(shiny)
ui <- fluidPage(h1("hello from shiny on kubernetes"), textInput("who", "Who", "nobody"), textOutput("greeting"))
server <- function(input, output, session) {
  output$greeting <- renderText(paste("hello", input$who, "from", Sys.getenv("HOSTNAME")))
}
shinyApp(ui, server)
`;

interface JobSeen {
  /** The Job as last written before it went. */
  last: KubeObject;
  /** Its pods' names and images, as the kubelet ran them. */
  pods: { name: string; image: string }[];
}

describe.skipIf(
  unavailable("Shiny and documents on the Kubernetes runner", kubeServerUnavailable()),
)(
  "Shiny and rendered documents as Kubernetes Jobs through the server",
  { timeout: 600_000 },
  () => {
    let kube: KubeServer;

    beforeAll(async () => {
      kube = await startKubeServer();
    }, 900_000);
    afterAll(() => kube?.close(), 120_000);

    /**
     * Records the content's Jobs of a kind and their pods as they are written, so a render Job
     * removed after it finished is still known.
     */
    const recordJobs = (guid: string, kind: string) => {
      const seen = new Map<string, JobSeen>();
      const stop = kube.standin.api.store.subscribe((e) => {
        const labels = e.object.metadata.labels;
        if (labels?.["slipway.io/content"] !== guid || labels?.["slipway.io/kind"] !== kind) return;
        if (e.resource.plural === "jobs" && e.type !== "DELETED") {
          const uid = e.object.metadata.uid!;
          seen.set(uid, { last: structuredClone(e.object), pods: seen.get(uid)?.pods ?? [] });
        }
        if (e.resource.plural === "pods" && e.type === "ADDED") {
          const owner = e.object.metadata.ownerReferences?.find((o) => o.kind === "Job")?.uid;
          const spec = e.object.spec as { containers: { name: string; image: string }[] };
          const main = spec.containers.find((c) => c.name === "content") ?? spec.containers[0]!;
          if (owner)
            seen.get(owner)?.pods.push({ name: e.object.metadata.name!, image: main.image });
        }
      });
      return { seen, stop };
    };
    const conditions = (job: KubeObject) =>
      (
        (job.status as { conditions?: { type: string; status: string }[] } | undefined)
          ?.conditions ?? []
      )
        .filter((c) => c.status === "True")
        .map((c) => c.type);

    it("serves a Shiny app's page and its WebSocket session from a Job through its Service", async () => {
      const { server, standin } = kube;
      const item = await createContent(server, "shiny-on-kubernetes");
      const { task } = await deploy(server, item.guid, [
        manifestEntry({ metadata: { appmode: "shiny" }, platform: "4.2.2" }),
        { path: "app.R", content: SHINY_APP },
      ]);
      expect(task.code, task.output.join("\n")).toBe(0);
      const page = await kube.get(item.content_url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain("hello from shiny on kubernetes");

      const [run] = kube.jobsOf(item.guid, "run");
      expect(run).toBeDefined();
      const [service] = standin.api.store
        .list(resource("services"), NAMESPACE)
        .filter((s) => s.metadata.ownerReferences?.some((o) => o.uid === run!.metadata.uid));
      expect(service).toBeDefined();
      const clusterIP = (service!.spec as { clusterIP: string }).clusterIP;
      expect(task.output.join("\n")).toContain(`Application answering at ${clusterIP}:`);
      const pods = standin.api.store
        .list(resource("pods"), NAMESPACE)
        .filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === run!.metadata.uid))
        .map((p) => p.metadata.name);

      // Shiny's own exchange: its config on connect, then the outputs for the inputs sent.
      const url = `${server.url.replace(/^http/, "ws")}/content/${item.guid}/websocket/`;
      const socket = new WebSocket(url, {
        headers: { Authorization: `Key ${server.keys.viewer}` },
      });
      const messages: Record<string, unknown>[] = [];
      const greeting = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no greeting over the WebSocket: ${JSON.stringify(messages)}`)),
          60_000,
        );
        socket.on("error", reject);
        socket.on("unexpected-response", (_request, response) =>
          reject(new Error(`the WebSocket was answered ${response.statusCode}`)),
        );
        socket.on("message", (data) => {
          const message = JSON.parse(data.toString()) as Record<string, unknown>;
          messages.push(message);
          if (message.config) {
            // As a browser says it: an output the client has not shown is not computed.
            const data = { who: "kube", ".clientdata_output_greeting_hidden": false };
            socket.send(JSON.stringify({ method: "init", data }));
          }
          const values = message.values as Record<string, string> | undefined;
          if (values?.greeting) {
            clearTimeout(timer);
            resolve(values.greeting);
          }
        });
      }).finally(() => socket.terminate());
      expect(messages[0]).toHaveProperty("config.sessionId");
      // Answered by the Job's pod: the proxy reached it through the Service.
      const [, who, host] = /^hello (\S+) from (\S+)$/.exec(greeting) ?? [];
      expect(who).toBe("kube");
      expect(pods).toContain(host);
    });

    it("renders an R Markdown document in a Job of the environment's image and serves it", async () => {
      const { server } = kube;
      const debian = ensureDebianImage();
      const item = await createContent(server, "rmd-on-kubernetes");
      const renders = recordJobs(item.guid, "render");
      const { task } = await deploy(server, item.guid, [
        manifestEntry({
          metadata: { appmode: "rmd-static", primary_rmd: "report.Rmd" },
          platform: "4.2.2",
        }),
        {
          path: "report.Rmd",
          content:
            "---\ntitle: Report\n---\n\nTwo and two make `r 2 + 2`, on `r Sys.getenv('HOSTNAME')`.\n",
        },
      ]);
      renders.stop();
      const log = task.output.join("\n");
      expect(task.code, log).toBe(0);
      const html = await (await kube.get(item.content_url)).text();
      const [, host] = /Two and two make 4, on (\S+?)\./.exec(html) ?? [];
      expect(host).toBeTruthy();

      // One render Job, from the environment's image, which completed; its pod wrote the page.
      const jobs = [...renders.seen.values()];
      expect(jobs).toHaveLength(1);
      const [render] = jobs;
      expect(conditions(render!.last)).toContain("Complete");
      // Bounded by the render timeout, as a render on the host is.
      expect(render!.last.spec).toMatchObject({
        activeDeadlineSeconds: server.settings.Applications.RenderTimeoutSeconds,
      });
      expect(render!.pods).toEqual([{ name: host, image: debian.name }]);
      expect(log).toContain(`Created Job`);
      expect(log).toMatch(/Output created: .*index\.html/);
    });

    it("renders a Jupyter notebook in a Job and serves it", async () => {
      const { server } = kube;
      const item = await createContent(server, "notebook-on-kubernetes");
      const renders = recordJobs(item.guid, "render");
      const nb = {
        cells: [
          {
            cell_type: "code",
            execution_count: null,
            metadata: {},
            outputs: [],
            source: ["import os\n", "print(6 * 7, os.environ['HOSTNAME'])"],
          },
        ],
        metadata: { kernelspec: { name: "python3", display_name: "Python 3", language: "python" } },
        nbformat: 4,
        nbformat_minor: 5,
      };
      const { task } = await deploy(server, item.guid, [
        manifestEntry({
          metadata: { appmode: "jupyter-static", entrypoint: "notebook.ipynb" },
          python: {
            version: "3.11",
            package_manager: { name: "none", package_file: "requirements.txt" },
          },
        }),
        { path: "notebook.ipynb", content: JSON.stringify(nb) },
      ]);
      renders.stop();
      const log = task.output.join("\n");
      expect(task.code, log).toBe(0);
      const html = await (await kube.get(item.content_url)).text();
      const [render] = [...renders.seen.values()];
      expect(render).toBeDefined();
      expect(conditions(render!.last)).toContain("Complete");
      const [pod] = render!.pods;
      expect(pod?.image).toBe(ensureDebianImage().name);
      expect(html).toContain(`42 ${pod!.name}`);
      expect(log).toMatch(/Writing \d+ bytes to .*index\.html/);
    });
  },
);
