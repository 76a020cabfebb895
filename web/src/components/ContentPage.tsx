import { useEffect, useState } from "react";
import {
  api,
  type Content,
  type ContentDefaults,
  type Environment,
  mayChange,
  type User,
} from "../api";
import { LoadState, useLoad } from "../load";
import { useTitle } from "../title";
import { ContentAccess } from "./ContentAccess";
import { ContentInfo } from "./ContentInfo";
import { ContentVars } from "./ContentVars";
import { EnvironmentChoice } from "./EnvironmentChoice";
import { JobList } from "./JobList";
import { ProcessSettings } from "./ProcessSettings";
import { TaskLog } from "./TaskLog";

export const CONTENT_TABS = [
  ["info", "Info"],
  ["access", "Access"],
  ["vars", "Vars"],
  ["runtime", "Runtime"],
  ["logs", "Logs"],
] as const;
export type ContentTab = (typeof CONTENT_TABS)[number][0];

/** A content item's settings as tabs, each its own URL (#/content/GUID/runtime). */
export function ContentPage(props: { guid: string; tab: string | undefined; user: User }) {
  const tab: ContentTab = CONTENT_TABS.some(([t]) => t === props.tab)
    ? (props.tab as ContentTab)
    : "info";
  const loaded = useLoad(() => api<Content>("GET", `/v1/content/${props.guid}`), [props.guid]);
  const [content, setContent] = useState<Content | undefined>(undefined);
  useEffect(() => setContent(loaded.data), [loaded.data]);
  const label = CONTENT_TABS.find(([t]) => t === tab)![1];
  useTitle(content ? `${label} · ${content.title ?? content.name}` : "Content");
  if (!content) return <LoadState load={loaded} what="this content" />;
  return (
    <section aria-labelledby="content-title">
      <p>
        <a href="#/content">← All content</a>
      </p>
      <h1 id="content-title">{content.title ?? content.name}</h1>
      <p>
        <a href={content.content_url}>Open the content</a> · app mode {content.app_mode ?? "—"}
      </p>
      <nav aria-label="Content settings" className="tabs">
        {CONTENT_TABS.map(([id, text]) => (
          <a
            key={id}
            href={`#/content/${content.guid}/${id}`}
            aria-current={id === tab ? "page" : undefined}
          >
            {text}
          </a>
        ))}
      </nav>
      {tab === "info" && <ContentInfo content={content} user={props.user} onSaved={setContent} />}
      {tab === "access" && <ContentAccess content={content} onSaved={setContent} />}
      {tab === "vars" &&
        (mayChange(content) ? (
          <ContentVars content={content} />
        ) : (
          <p>
            Environment variables are for the content's owner, collaborators and administrators.
          </p>
        ))}
      {tab === "runtime" && <RuntimeTab content={content} user={props.user} onSaved={setContent} />}
      {tab === "logs" &&
        (mayChange(content) ? (
          <>
            <TaskLog contentGuid={content.guid} />
            <JobList contentGuid={content.guid} />
          </>
        ) : (
          <p>The logs are for the content's owner, collaborators and administrators.</p>
        ))}
    </section>
  );
}

function RuntimeTab(props: { content: Content; user: User; onSaved(content: Content): void }) {
  const canEdit = mayChange(props.content);
  const defaults = useLoad(() => api<ContentDefaults>("GET", "/slipway/v1/content-defaults"), []);
  // Viewers may not read the catalog; their tab shows the settings without the picker.
  const publisher = props.user.user_role !== "viewer";
  const environments = useLoad(
    () =>
      publisher
        ? api<Environment[]>("GET", "/v1/environments")
        : Promise.resolve<Environment[]>([]),
    [publisher],
  );
  return (
    <section aria-labelledby="runtime-heading" className="panel">
      <h2 id="runtime-heading">Runtime</h2>
      {environments.data ? (
        <EnvironmentChoice
          content={props.content}
          environments={environments.data}
          canEdit={canEdit && publisher}
          onSaved={props.onSaved}
        />
      ) : (
        <LoadState load={environments} what="the environments" />
      )}
      {defaults.data ? (
        <ProcessSettings
          content={props.content}
          defaults={defaults.data}
          canEdit={canEdit}
          onSaved={props.onSaved}
        />
      ) : (
        <LoadState load={defaults} what="the server's defaults" />
      )}
    </section>
  );
}
