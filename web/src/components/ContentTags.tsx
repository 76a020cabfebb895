import { useState } from "react";
import { api, type Content, type Tag } from "../api";
import { LoadState, useChange, useLoad } from "../load";

/** The content's tags; those who may change it put on or take off tags administrators keep. */
export function ContentTags(props: { content: Content; canChange: boolean }) {
  const path = `/v1/content/${props.content.guid}/tags`;
  const load = useLoad(
    () =>
      Promise.all([
        api<Tag[]>("GET", path),
        props.canChange ? api<Tag[]>("GET", "/v1/tags") : Promise.resolve([]),
      ]),
    [path, props.canChange],
  );
  const [chosen, setChosen] = useState("");
  const { message, change } = useChange(load);
  if (!load.data) return <LoadState load={load} what="the tags" />;
  const [mine, all] = load.data;
  const addable = all.filter((t) => !mine.some((m) => m.id === t.id));
  return (
    <div className="tags-edit">
      <h3 id="tags-heading">Tags</h3>
      {mine.length === 0 ? (
        <p>No tags.</p>
      ) : (
        <ul className="plain" aria-labelledby="tags-heading">
          {mine.map((t) => (
            <li key={t.id}>
              <span className="badge">{t.name}</span>{" "}
              {props.canChange && (
                <button
                  type="button"
                  onClick={() =>
                    change(() => api("DELETE", `${path}/${t.id}`), `Took off the tag ${t.name}.`)
                  }
                >
                  Remove tag {t.name}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.canChange && addable.length > 0 && (
        <div className="actions">
          <label>
            Tag to add
            <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
              <option value="">Choose a tag</option>
              {addable.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            disabled={!chosen}
            onClick={() =>
              change(async () => {
                await api("POST", path, { tag_id: chosen });
                setChosen("");
              }, "Tag added.")
            }
          >
            Add tag
          </button>
        </div>
      )}
      <p role="status">{message}</p>
    </div>
  );
}
