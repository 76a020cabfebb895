/**
 * The answer to "where would this content run, and why?", shared by the API and the offline
 * CLI: the pick when there is one, and in every case the explanation. Pure.
 */
import { isApiError } from "../errors.js";
import type { ContentNeeds } from "./manifest.js";
import {
  type Modes,
  type SelectableEnvironment,
  type SelectionInput,
  selectEnvironment,
} from "./selection.js";

export interface SelectionAnswer {
  ok: boolean;
  environment: { guid: string; name: string; title: string | null } | null;
  installations: Record<string, { version: string; path: string }>;
  basis: string;
  explanation: Array<{
    environment_guid: string;
    image: string;
    title: string | null;
    verdict: string;
    detail: string;
  }>;
  error: { code: number; error: string } | null;
}

/** Selects, turning "nothing fits" (106, 108) into an answer rather than an error. */
export function answerSelection(input: SelectionInput): SelectionAnswer {
  const titles = new Map(input.environments.map((e) => [e.guid, e.title]));
  try {
    const selection = selectEnvironment(input);
    const e = selection.environment;
    return {
      ok: true,
      environment: e && { guid: e.guid, name: e.name, title: e.title },
      installations: selection.installations,
      basis: selection.basis,
      explanation: selection.explanation.map((c) => ({
        environment_guid: c.guid,
        image: c.name,
        title: c.title,
        verdict: c.verdict,
        detail: c.detail,
      })),
      error: null,
    };
  } catch (error) {
    if (!isApiError(error) || (error.code !== 106 && error.code !== 108)) throw error;
    const reasons =
      (error.payload?.reasons as Array<{ guid: string; name: string; reason: string }>) ?? [];
    return {
      ok: false,
      environment: null,
      installations: {},
      basis: "",
      explanation: reasons.map((r) => ({
        environment_guid: r.guid,
        image: r.name,
        title: titles.get(r.guid) ?? null,
        verdict: "excluded",
        detail: r.reason,
      })),
      error: { code: error.code, error: error.message },
    };
  }
}

/** Every environment judged alone, as if the publisher chose it: what the picker shows. */
export function answerEach(
  needs: ContentNeeds,
  environments: readonly SelectableEnvironment[],
  modes: Partial<Modes>,
  notPermitted?: ReadonlySet<string>,
): SelectionAnswer {
  const unpinned = { ...needs, pin: {} };
  return {
    ok: true,
    environment: null,
    installations: {},
    basis: "each environment on its own",
    explanation: environments.map((e) => {
      const one = answerSelection({
        needs: unpinned,
        environments: [e],
        defaultEnvironmentGuid: e.guid,
        modes,
        notPermitted,
      });
      const detail = one.ok
        ? (one.explanation[0]?.detail ?? "no runtime needed")
        : (one.explanation[0]?.detail ?? one.error!.error);
      return {
        environment_guid: e.guid,
        image: e.name,
        title: e.title,
        verdict: one.ok ? "compatible" : "excluded",
        detail,
      };
    }),
    error: null,
  };
}
