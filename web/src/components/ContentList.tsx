import { api, type Content } from "../api";
import { LoadState, useLoad } from "../load";
import { useTitle } from "../title";

export function ContentList() {
  useTitle("Content");
  const loaded = useLoad(() => api<Content[]>("GET", "/v1/content"), []);
  const content = loaded.data;
  if (!content) return <LoadState load={loaded} what="content" />;
  return (
    <section aria-labelledby="content-heading">
      <h1 id="content-heading">Content</h1>
      {content.length === 0 ? (
        <p>
          Nothing is deployed yet: try <code>slipway deploy FOLDER</code>.
        </p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">App mode</th>
                <th scope="col">Environment</th>
                <th scope="col">Last deployed</th>
              </tr>
            </thead>
            <tbody>
              {content.map((c) => (
                <tr key={c.guid}>
                  <td>
                    <a href={`#/content/${c.guid}`}>{c.title ?? c.name}</a>
                  </td>
                  <td>{c.app_mode ?? "—"}</td>
                  <td className="mono">{c.image_name ?? "—"}</td>
                  <td>
                    {c.last_deployed_time
                      ? new Date(c.last_deployed_time).toLocaleString()
                      : "never"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
