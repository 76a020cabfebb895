import { useState } from "react";
import {
  ApiFailure,
  api,
  type Content,
  describeFailure,
  mayChange,
  type Person,
  type User,
} from "../api";
import { useLoad } from "../load";
import { personLabel } from "../principal-names";
import { ContentTags } from "./ContentTags";
import { ContentVanity } from "./ContentVanity";
import { DraftPreviews } from "./DraftPreviews";

/** Info: what the content is, where it lives; its owner and administrators edit title and description. */
export function ContentInfo(props: {
  content: Content;
  user: User;
  onSaved(content: Content): void;
}) {
  const c = props.content;
  const canEdit = mayChange(c);
  const owner = useLoad(() => api<Person>("GET", `/v1/users/${c.owner_guid}`), [c.owner_guid]);
  const [title, setTitle] = useState(c.title ?? "");
  const [description, setDescription] = useState(c.description);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState("");
  const changed = title !== (c.title ?? "") || description !== c.description;
  const fieldError = (field: string) => (
    <p id={`info-${field}-error`} className="field-error">
      {errors[field] ?? ""}
    </p>
  );
  return (
    <section aria-labelledby="info-heading" className="panel">
      <h2 id="info-heading">Info</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd className="mono">{c.name}</dd>
        <dt>Owner</dt>
        <dd>
          {c.owner_guid === props.user.guid
            ? `you (${props.user.username})`
            : owner.data
              ? personLabel(owner.data)
              : owner.error
                ? `${c.owner_guid} (could not load the name: ${owner.error})`
                : c.owner_guid}
        </dd>
        <dt>App mode</dt>
        <dd>{c.app_mode ?? "not deployed yet"}</dd>
        <dt>Content URL</dt>
        <dd>
          <a href={c.content_url}>{c.content_url}</a>
        </dd>
        <dt>Created</dt>
        <dd>{new Date(c.created_time).toLocaleString()}</dd>
        <dt>Last deployed</dt>
        <dd>{c.last_deployed_time ? new Date(c.last_deployed_time).toLocaleString() : "never"}</dd>
      </dl>
      {canEdit ? (
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            setErrors({});
            try {
              const saved = await api<Content>("PATCH", `/v1/content/${c.guid}`, {
                title: title || null,
                description,
              });
              setMessage("Saved.");
              props.onSaved(saved);
            } catch (error) {
              if (error instanceof ApiFailure && error.body.payload?.field) {
                setErrors({ [error.body.payload.field]: error.body.error });
                setMessage("");
              } else setMessage(describeFailure(error));
            }
          }}
        >
          <label>
            Title
            <input
              name="title"
              value={title}
              maxLength={1024}
              onChange={(e) => setTitle(e.target.value)}
              aria-invalid={!!errors.title}
              aria-describedby="info-title-error"
            />
          </label>
          {fieldError("title")}
          <label>
            Description
            <textarea
              name="description"
              value={description}
              maxLength={4096}
              onChange={(e) => setDescription(e.target.value)}
              aria-invalid={!!errors.description}
              aria-describedby="info-description-error"
            />
          </label>
          {fieldError("description")}
          <button type="submit" className="primary" disabled={!changed}>
            Save info
          </button>
          <p role="status">{message}</p>
        </form>
      ) : (
        <dl className="facts">
          <dt>Title</dt>
          <dd>{c.title ?? "—"}</dd>
          <dt>Description</dt>
          <dd>{c.description || "—"}</dd>
        </dl>
      )}
      <ContentVanity content={c} canChange={canEdit} />
      <ContentTags content={c} canChange={canEdit} />
      {canEdit && <DraftPreviews content={c} />}
    </section>
  );
}
