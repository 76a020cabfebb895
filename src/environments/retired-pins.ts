/**
 * What a deploy or a selection question makes of content that points at retired
 * environments: pins to them are dropped (selection then picks from the catalog as if the
 * content had none), and each one is named, so the log says why the content moved.
 */
import type { Kysely } from "kysely";
import { findEnvironmentByName } from "../store/environments.js";
import { findRetiredByName, findRetiredEnvironment } from "../store/retired-environments.js";
import type { Tables } from "../store/schema.js";

export interface ContentPins {
  readonly default_environment_guid: string | null;
  readonly default_image_name: string | null;
  /** The environment its active bundle runs in. */
  readonly environment_guid: string | null;
}

export interface LivePins {
  defaultEnvironmentGuid: string | null;
  defaultImageName: string | null;
  /** One line per retired environment the content pointed at. */
  notes: string[];
}

export async function livePins(db: Kysely<Tables>, content: ContentPins): Promise<LivePins> {
  const notes: string[] = [];
  const pins: LivePins = {
    defaultEnvironmentGuid: content.default_environment_guid,
    defaultImageName: content.default_image_name,
    notes,
  };
  if (content.environment_guid) {
    const retired = await findRetiredEnvironment(db, content.environment_guid);
    if (retired) {
      notes.push(
        `The content last ran in ${retired.name} (${retired.guid}), retired at ${retired.retired_time}; selecting from the catalog`,
      );
    }
  }
  if (content.default_environment_guid) {
    const retired = await findRetiredEnvironment(db, content.default_environment_guid);
    if (retired) {
      notes.push(
        `The content's default environment ${retired.name} (${retired.guid}) was retired at ${retired.retired_time}; ignoring it`,
      );
      pins.defaultEnvironmentGuid = null;
    }
  }
  if (
    content.default_image_name &&
    !(await findEnvironmentByName(db, content.default_image_name))
  ) {
    const retired = await findRetiredByName(db, content.default_image_name);
    if (retired) {
      notes.push(
        `The content's default image ${retired.name} belongs to a retired environment (${retired.guid}); ignoring it`,
      );
      pins.defaultImageName = null;
    }
  }
  return pins;
}
