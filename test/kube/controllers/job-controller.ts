/**
 * The Job controller: creates the Job's pods from its template (parallelism, completions),
 * counts succeeded and failed pods, fails the Job past backoffLimit or activeDeadlineSeconds
 * (deleting what still runs), completes it, and deletes it ttlSecondsAfterFinished later.
 */
import type { Api } from "../api.js";
import type { EventRecorder } from "../events.js";
import { resource } from "../resources.js";
import { StatusError } from "../status-error.js";
import type { StoreEvent } from "../store.js";
import { type Condition, clone, type Job, type KubeObject, now, type Pod } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const JOBS = resource("jobs");
const PODS = resource("pods");

export class JobController {
  #queue: WorkQueue;
  #timers = new Set<NodeJS.Timeout>();
  /** Terminal pods already counted, per Job uid, so that deleting a pod does not lose its count. */
  #counted = new Map<string, { succeeded: Set<string>; failed: Set<string> }>();
  #unsubscribe: () => void;

  constructor(
    readonly api: Api,
    readonly events: EventRecorder,
    readonly backoffBaseMs: number,
  ) {
    this.#queue = new WorkQueue(
      (key) => this.#sync(key),
      (key, error) => console.error(`stand-in job controller: ${key}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    if (event.resource === JOBS) {
      if (event.type === "DELETED") this.#counted.delete(event.object.metadata.uid!);
      else this.#queue.add(`${event.object.metadata.namespace}/${event.object.metadata.name}`);
    } else if (event.resource === PODS) {
      const owner = event.object.metadata.ownerReferences?.find(
        (r) => r.kind === "Job" && r.controller,
      );
      if (owner) this.#queue.add(`${event.object.metadata.namespace}/${owner.name}`);
    }
  }

  #later(key: string, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#queue.add(key);
    }, ms);
    this.#timers.add(t);
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const job = this.api.store.get(JOBS, ns, name) as Job | undefined;
    if (!job || job.metadata.deletionTimestamp) return;
    const uid = job.metadata.uid!;
    const pods = (this.api.store.list(PODS, ns) as Pod[]).filter((p) =>
      p.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller),
    );
    const counted = this.#counted.get(uid) ?? { succeeded: new Set(), failed: new Set() };
    this.#counted.set(uid, counted);
    for (const p of pods) {
      if (p.status?.phase === "Succeeded") counted.succeeded.add(p.metadata.uid!);
      if (p.status?.phase === "Failed") counted.failed.add(p.metadata.uid!);
    }
    const active = pods.filter(
      (p) =>
        p.status?.phase !== "Succeeded" &&
        p.status?.phase !== "Failed" &&
        !p.metadata.deletionTimestamp,
    );
    const spec = job.spec;
    const succeeded = Math.max(counted.succeeded.size, job.status?.succeeded ?? 0);
    const failed = Math.max(counted.failed.size, job.status?.failed ?? 0);
    const finished = job.status?.conditions?.find(
      (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
    );
    const startTime = job.status?.startTime ?? now();

    if (finished) {
      await this.#deletePods(job, active);
      this.#ttl(job, key);
      return;
    }
    let failure: { reason: string; message: string } | undefined;
    const deadline = spec.activeDeadlineSeconds;
    if (deadline !== undefined) {
      const left = Date.parse(startTime) + deadline * 1000 - Date.now();
      if (left <= 0)
        failure = {
          reason: "DeadlineExceeded",
          message: "Job was active longer than specified deadline",
        };
      else this.#later(key, left + 50);
    }
    if (!failure && failed > (spec.backoffLimit ?? 6))
      failure = {
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      };
    const completions = spec.completions ?? 1;
    const complete = !failure && succeeded >= completions;
    if (failure) await this.#deletePods(job, active);

    let created = 0;
    if (!failure && !complete && !spec.suspend) {
      const want = Math.min(spec.parallelism ?? 1, completions - succeeded) - active.length;
      const sinceFailure = this.#sinceLastFailure(pods);
      const delay = failed > 0 ? this.backoffBaseMs * 2 ** Math.min(failed - 1, 6) : 0;
      if (want > 0 && sinceFailure !== undefined && sinceFailure < delay)
        this.#later(key, delay - sinceFailure);
      else for (let i = 0; i < want; i++) if (await this.#createPod(job, key)) created++;
    }
    const stillActive = failure ? 0 : active.length + created;
    const conditions = [...(job.status?.conditions ?? [])];
    if (failure && stillActive === 0) {
      conditions.push(
        condition("FailureTarget", failure.reason, failure.message),
        condition("Failed", failure.reason, failure.message),
      );
      this.events.record(job, "Warning", failure.reason, failure.message, "job-controller");
    }
    if (complete && active.length === 0) {
      conditions.push(
        condition(
          "SuccessCriteriaMet",
          "CompletionsReached",
          "Reached expected number of succeeded pods",
        ),
        condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
      );
      this.events.record(job, "Normal", "Completed", "Job completed", "job-controller");
    }
    const ready = active.filter((p) =>
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
    const updated = this.api.store.mutate(JOBS, ns, name, (o) => {
      if (o.metadata.uid !== uid) return false;
      const status: Job["status"] = {
        ...(conditions.length ? { conditions } : {}),
        startTime,
        ...(stillActive ? { active: stillActive } : {}),
        ...(succeeded ? { succeeded } : {}),
        ...(failed ? { failed } : {}),
        ready,
        terminating: pods.filter((p) => p.metadata.deletionTimestamp).length,
        uncountedTerminatedPods: {},
        ...(complete && active.length === 0 ? { completionTime: now() } : {}),
      };
      if (JSON.stringify(status) === JSON.stringify(o.status)) return false;
      o.status = status;
      return true;
    });
    if (updated) this.#ttl(updated as Job, key);
  }

  #sinceLastFailure(pods: Pod[]): number | undefined {
    const times = pods
      .filter((p) => p.status?.phase === "Failed")
      .flatMap((p) =>
        (p.status?.containerStatuses ?? []).map((s) =>
          "terminated" in s.state ? Date.parse(s.state.terminated.finishedAt) : 0,
        ),
      );
    return times.length ? Date.now() - Math.max(...times) : undefined;
  }

  async #createPod(job: Job, key: string): Promise<boolean> {
    const template = clone(job.spec.template);
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        ...template.metadata,
        generateName: `${job.metadata.name}-`,
        labels: template.metadata?.labels ?? {},
        ownerReferences: [
          {
            apiVersion: "batch/v1",
            kind: "Job",
            name: job.metadata.name!,
            uid: job.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      } as KubeObject["metadata"],
      spec: template.spec,
    };
    try {
      const created = await this.api.create(PODS, job.metadata.namespace, pod);
      this.events.record(
        job,
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${created.metadata.name}`,
        "job-controller",
      );
      return true;
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      this.events.record(
        job,
        "Warning",
        "FailedCreate",
        `Error creating: ${error.message}`,
        "job-controller",
      );
      this.#later(key, this.backoffBaseMs);
      return false;
    }
  }

  async #deletePods(job: Job, pods: Pod[]): Promise<void> {
    for (const p of pods) {
      if (p.metadata.deletionTimestamp) continue;
      await this.api
        .delete(PODS, p.metadata.namespace, p.metadata.name!, {})
        .catch(() => undefined);
      this.events.record(
        job,
        "Normal",
        "SuccessfulDelete",
        `Deleted pod: ${p.metadata.name}`,
        "job-controller",
      );
    }
  }

  #ttl(job: Job, key: string): void {
    const ttl = job.spec.ttlSecondsAfterFinished;
    const finished = job.status?.conditions?.find(
      (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
    );
    if (ttl === undefined || !finished) return;
    const left = Date.parse(finished.lastTransitionTime!) + ttl * 1000 - Date.now();
    if (left > 0) {
      this.#later(key, left + 20);
      return;
    }
    const [ns, name] = key.split("/") as [string, string];
    void this.api
      .delete(JOBS, ns, name, { propagationPolicy: "Background" })
      .catch(() => undefined);
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
    for (const t of this.#timers) clearTimeout(t);
  }
}

function condition(type: string, reason: string, message: string): Condition {
  return { type, status: "True", reason, message, lastProbeTime: now(), lastTransitionTime: now() };
}
