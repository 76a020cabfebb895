/**
 * Jobs: `/v1/content/{guid}/jobs`, one job, its log and stopping it, for the people who may
 * change the content; and `/metrics/procs`, every running process, for administrators.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { ContentJobs } from "../../content/content-jobs.js";
import { Job, JobLog } from "../../content/job-model.js";
import { errors, GuidParams } from "./schemas.js";

const text = Type.Union([Type.String(), Type.Null()]);
const JobParams = Type.Object({
  guid: GuidParams.properties.guid,
  key: Type.String({ minLength: 1, maxLength: 64 }),
});

export const contentJobRoutes: FastifyPluginAsyncTypebox<{ jobs: ContentJobs }> = async (
  app,
  { jobs },
) => {
  const tags = ["content"];
  app.get(
    "/v1/content/:guid/jobs",
    {
      schema: {
        tags,
        summary: "List the content's jobs (builds, renders, processes), newest first",
        params: GuidParams,
        response: { 200: Type.Array(Job), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => jobs.list(request.user!, request.params.guid),
  );

  app.get(
    "/v1/content/:guid/jobs/:key",
    {
      schema: {
        tags,
        summary: "Get one job",
        params: JobParams,
        response: { 200: Job, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => jobs.get(request.user!, request.params.guid, request.params.key),
  );

  app.get(
    "/v1/content/:guid/jobs/:key/log",
    {
      schema: {
        tags,
        summary: "A job's output, its last lines",
        params: JobParams,
        querystring: Type.Object({
          maxLogLines: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
        }),
        response: { 200: JobLog, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) =>
      jobs.log(
        request.user!,
        request.params.guid,
        request.params.key,
        request.query.maxLogLines ?? 5000,
      ),
  );

  app.delete(
    "/v1/content/:guid/jobs/:key",
    {
      schema: {
        tags,
        summary: "Stop a job",
        params: JobParams,
        response: {
          200: Type.Object({
            guid: Type.String(),
            key: Type.String(),
            app_id: Type.String(),
            app_guid: Type.String(),
            job_id: Type.String(),
            job_key: Type.String(),
            result: Type.String(),
          }),
          ...errors,
        },
      },
      config: { role: "publisher" },
    },
    async (request) => jobs.stop(request.user!, request.params.guid, request.params.key),
  );

  app.get(
    "/metrics/procs",
    {
      schema: {
        tags: ["metrics"],
        summary: "Every running build, render and process, with its CPU time and memory",
        response: {
          200: Type.Array(
            Type.Object({
              pid: text,
              key: Type.String(),
              appId: Type.String(),
              appGuid: Type.String(),
              appName: text,
              appRunAs: text,
              type: Type.String(),
              hostname: Type.String(),
              cpuCurrent: Type.Union([Type.Number(), Type.Null()]),
              cpuTotal: Type.Union([Type.Number(), Type.Null()]),
              ram: Type.Union([Type.Number(), Type.Null()]),
            }),
          ),
          ...errors,
        },
      },
      config: { role: "administrator" },
    },
    async () => jobs.procs(),
  );
};
