import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Settings } from "../../config/settings.js";
import type { ContentService } from "../../content/content-service.js";
import { contentNeeds, parseManifest } from "../../environments/manifest.js";
import { livePins } from "../../environments/retired-pins.js";
import { answerEach, answerSelection } from "../../environments/selection-answer.js";
import { ApiError } from "../../errors.js";
import { findBundle } from "../../store/bundles.js";
import type { Store } from "../../store/database.js";
import { listEnvironments } from "../../store/environments.js";
import { environmentsNotPermitted } from "../../store/permissions.js";
import { findUser } from "../../store/users.js";
import { errors } from "./schemas.js";

const Installation = Type.Object({ version: Type.String(), path: Type.String() });

export const SelectionResult = Type.Object({
  ok: Type.Boolean(),
  environment: Type.Union([
    Type.Object({
      guid: Type.String(),
      name: Type.String(),
      title: Type.Union([Type.String(), Type.Null()]),
    }),
    Type.Null(),
  ]),
  installations: Type.Object({
    python: Type.Optional(Installation),
    r: Type.Optional(Installation),
    quarto: Type.Optional(Installation),
  }),
  basis: Type.String(),
  explanation: Type.Array(
    Type.Object({
      environment_guid: Type.String(),
      image: Type.String(),
      title: Type.Union([Type.String(), Type.Null()]),
      verdict: Type.String(),
      detail: Type.String(),
    }),
  ),
  error: Type.Union([Type.Object({ code: Type.Integer(), error: Type.String() }), Type.Null()]),
});

export const selectionRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  settings: Settings;
  content: ContentService;
}> = async (app, { store, settings, content }) => {
  app.post(
    "/slipway/v1/selection",
    {
      schema: {
        tags: ["slipway"],
        summary: "Where would this content run, and why? Selects an environment without deploying",
        description:
          "Give a manifest, a content guid (its default environment applies, and its active bundle's manifest when no manifest is given), or both.",
        body: Type.Object({
          manifest: Type.Optional(Type.Unknown()),
          content_guid: Type.Optional(Type.String()),
          each: Type.Optional(
            Type.Boolean({
              description:
                "Judge every environment on its own, as if the publisher chose it: what the environment picker shows.",
            }),
          ),
        }),
        response: { 200: SelectionResult, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const item = request.body.content_guid
        ? await content.get(request.body.content_guid)
        : undefined;
      let manifest = request.body.manifest;
      if (manifest === undefined && item?.bundle_id)
        manifest = (await findBundle(store.db, item.bundle_id))?.manifest;
      if (manifest === undefined) {
        throw new ApiError(
          "parameterMissing",
          "Give a manifest, or the guid of content that has a deployed bundle.",
        );
      }
      const needs = contentNeeds(parseManifest(manifest));
      const environments = await listEnvironments(store.db);
      // The content's owner is the publisher whose permissions count; without content, the caller.
      const publisher = (item && (await findUser(store.db, item.owner_guid))) || request.user!;
      const notPermitted = await environmentsNotPermitted(store.db, publisher);
      if (request.body.each) {
        return answerEach(needs, environments, modesOf(settings), notPermitted);
      }
      const pins = item && (await livePins(store.db, item));
      return answerSelection({
        needs,
        environments,
        notPermitted,
        defaultEnvironmentGuid: pins?.defaultEnvironmentGuid,
        defaultImageName: pins?.defaultImageName,
        modes: modesOf(settings),
      });
    },
  );
};

function modesOf(settings: Settings) {
  return {
    r: settings.Server.RVersionMatching,
    python: settings.Python.VersionMatching,
    quarto: settings.Quarto.VersionMatching,
  };
}
