import { api, type Bundle, type Content } from "../api";
import { LoadState, useLoad } from "../load";

/**
 * Bundles other than the live one (drafts, and those a later deploy replaced), each with its preview URL (`_bundle{id}/` under the content
 * URL), which serves a draft once deployed without activating it; only those who may change
 * the content may open it.
 */
export function DraftPreviews(props: { content: Content }) {
  const c = props.content;
  const bundles = useLoad(
    () => api<Bundle[]>("GET", `/v1/content/${c.guid}/bundles`),
    [c.guid, c.bundle_id],
  );
  const drafts = bundles.data?.filter((b) => !b.active) ?? [];
  return (
    <section aria-labelledby="drafts-heading">
      <h3 id="drafts-heading">Drafts and earlier bundles</h3>
      {!bundles.data ? (
        <LoadState load={bundles} what="the bundles" />
      ) : drafts.length === 0 ? (
        <p>Only the live bundle: nothing to preview.</p>
      ) : (
        <ul className="plain" aria-label="Draft bundles">
          {drafts.map((b) => (
            <li key={b.id}>
              <a href={`${c.content_url}_bundle${b.id}/`}>Preview bundle {b.id}</a>{" "}
              <span className="help">uploaded {new Date(b.created_time).toLocaleString()}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
