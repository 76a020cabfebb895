/**
 * Runtimes coverage: every R, Python and Quarto version that deployed content needs, which
 * environments satisfy it under the server's version matching, and the content whose next
 * deploy would find no environment at all. The list an administrator reads before building
 * the next image. Pure: it judges with the selection code itself, so the report can never
 * disagree with a deploy.
 */
import { type Static, Type } from "@sinclair/typebox";
import { type ContentNeeds, contentNeeds, parseManifest, type RuntimeNeed } from "./manifest.js";
import type { Modes, SelectableEnvironment, SelectionRuntime } from "./selection.js";
import { answerSelection } from "./selection-answer.js";
import { compareVersions, parseVersion } from "./versions.js";

const text = Type.Union([Type.String(), Type.Null()]);
const Runtime = Type.Union([Type.Literal("r"), Type.Literal("python"), Type.Literal("quarto")]);
const Mode = Type.Union([
  Type.Literal("exact"),
  Type.Literal("major-minor"),
  Type.Literal("nearest"),
]);
const ContentRef = Type.Object({ guid: Type.String(), name: Type.String(), title: text });

const Need = Type.Object({
  runtime: Runtime,
  version: Type.Union([Type.String(), Type.Null()], {
    description: "The version the manifest names; null when it names none (any version does).",
  }),
  constraint: Type.Union([Type.String(), Type.Null()], {
    description: "The manifest's `environment.<runtime>.requires`, when it has one.",
  }),
});

export const RuntimeCoverage = Type.Object({
  version_matching: Type.Object({ r: Mode, python: Mode, quarto: Mode }),
  content_count: Type.Integer({ description: "Deployed content items the report looked at." }),
  needs: Type.Array(
    Type.Object({
      ...Need.properties,
      content_count: Type.Integer(),
      content: Type.Array(ContentRef),
      environments: Type.Array(
        Type.Object(
          {
            guid: Type.String(),
            name: Type.String(),
            title: text,
            matching: Type.String(),
            installation: Type.String({ description: "The installation selection would use." }),
          },
          { description: "An environment that satisfies the need (matching none left out)." },
        ),
      ),
    }),
    { description: "One entry per distinct runtime need: R, then Python, then Quarto." },
  ),
  unsatisfied: Type.Array(
    Type.Object(
      { ...ContentRef.properties, needs: Type.Array(Need), error: Type.String() },
      { description: "Content whose next deploy would find no compatible environment." },
    ),
  ),
});
export type RuntimeCoverage = Static<typeof RuntimeCoverage>;

export interface DeployedContent {
  readonly guid: string;
  readonly name: string;
  readonly title: string | null;
  /** The active bundle's manifest.json, as stored. */
  readonly manifest: string;
  readonly default_environment_guid: string | null;
  readonly default_image_name: string | null;
}

const ORDER: readonly SelectionRuntime[] = ["r", "python", "quarto"];

type Entry = RuntimeCoverage["needs"][number];

export function runtimeCoverage(
  content: readonly DeployedContent[],
  environments: readonly SelectableEnvironment[],
  modes: Modes,
): RuntimeCoverage {
  const entries = new Map<string, Entry & { need: RuntimeNeed }>();
  const unsatisfied: RuntimeCoverage["unsatisfied"] = [];
  for (const item of content) {
    const ref = { guid: item.guid, name: item.name, title: item.title };
    let needs: ContentNeeds;
    try {
      needs = contentNeeds(parseManifest(item.manifest));
    } catch (error) {
      unsatisfied.push({ ...ref, needs: [], error: (error as Error).message });
      continue;
    }
    const wanted = ORDER.filter((r) => needs[r]).map((runtime) => ({
      runtime,
      version: needs[runtime]!.version,
      constraint: needs[runtime]!.constraint?.text ?? null,
    }));
    for (const need of wanted) {
      const key = `${need.runtime} ${need.version} ${need.constraint}`;
      let entry = entries.get(key);
      if (!entry) {
        entry = {
          ...need,
          need: needs[need.runtime]!,
          content_count: 0,
          content: [],
          environments: [],
        };
        entries.set(key, entry);
      }
      entry.content_count++;
      entry.content.push(ref);
    }
    const answer = answerSelection({
      needs,
      environments,
      defaultEnvironmentGuid: item.default_environment_guid,
      defaultImageName: item.default_image_name,
      modes,
    });
    if (!answer.ok) unsatisfied.push({ ...ref, needs: wanted, error: answer.error!.error });
  }
  const usable = environments.filter((e) => e.matching !== "none");
  const report = [...entries.values()].sort(byRuntimeThenVersion).map(({ need, ...entry }) => ({
    ...entry,
    environments: usable.flatMap((e) => {
      const installation = satisfyingInstallation(entry.runtime, need, e, modes);
      return installation === undefined
        ? []
        : [{ guid: e.guid, name: e.name, title: e.title, matching: e.matching, installation }];
    }),
  }));
  return {
    version_matching: modes,
    content_count: content.length,
    needs: report,
    unsatisfied,
  };
}

/** The version of the installation selection would use in `environment`, if any fits. */
function satisfyingInstallation(
  runtime: SelectionRuntime,
  need: RuntimeNeed,
  environment: SelectableEnvironment,
  modes: Modes,
): string | undefined {
  const answer = answerSelection({
    needs: { appMode: "", entrypoint: null, pin: {}, management: {}, [runtime]: need },
    environments: [environment],
    defaultEnvironmentGuid: environment.guid,
    modes,
  });
  return answer.ok ? answer.installations[runtime]?.version : undefined;
}

function byRuntimeThenVersion(a: Entry, b: Entry): number {
  return (
    ORDER.indexOf(a.runtime) - ORDER.indexOf(b.runtime) ||
    (a.version === null ? 1 : 0) - (b.version === null ? 1 : 0) ||
    (a.version && b.version
      ? compareVersions(parseVersion(a.version), parseVersion(b.version))
      : 0) ||
    (a.constraint ?? "").localeCompare(b.constraint ?? "")
  );
}
