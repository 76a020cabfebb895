import { api, RUNTIME_LABEL, type RuntimeCoverage } from "../api";
import { LoadState, useLoad } from "../load";
import { useTitle } from "../title";

type Need = RuntimeCoverage["needs"][number];

export function needLabel(need: Pick<Need, "runtime" | "version" | "constraint">): string {
  const version = need.version ?? "(any version)";
  return `${RUNTIME_LABEL[need.runtime]} ${version}${need.constraint ? ` (${need.constraint})` : ""}`;
}

/** Runtimes coverage: what deployed content needs, what serves it, and what nothing serves. */
export function RuntimesPage() {
  useTitle("Runtimes");
  const report = useLoad(() => api<RuntimeCoverage>("GET", "/slipway/v1/runtimes"), []);
  const data = report.data;
  return (
    <section aria-labelledby="runtimes-heading">
      <h1 id="runtimes-heading">Runtimes</h1>
      <p className="lead">
        Every R, Python and Quarto version deployed content needs, and the environments that satisfy
        it: read it before building the next image.
      </p>
      {!data ? (
        <LoadState load={report} what="the runtimes report" />
      ) : (
        <>
          <p>
            {data.content_count} deployed content items. Version matching: R{" "}
            {data.version_matching.r}, Python {data.version_matching.python}, Quarto{" "}
            {data.version_matching.quarto}.
          </p>
          <div className="table-scroll">
            <table>
              <caption>Versions deployed content needs</caption>
              <thead>
                <tr>
                  <th scope="col">Runtime</th>
                  <th scope="col">Content</th>
                  <th scope="col">Satisfied by</th>
                </tr>
              </thead>
              <tbody>
                {data.needs.map((need) => (
                  <tr key={`${need.runtime} ${need.version} ${need.constraint}`}>
                    <th scope="row">{needLabel(need)}</th>
                    <td>
                      <details>
                        <summary>
                          {need.content_count} {need.content_count === 1 ? "item" : "items"}
                        </summary>
                        <ul className="plain">
                          {need.content.map((c) => (
                            <li key={c.guid}>
                              <a href={`#/content/${c.guid}`}>{c.title ?? c.name}</a>
                            </li>
                          ))}
                        </ul>
                      </details>
                    </td>
                    <td>
                      {need.environments.length === 0 ? (
                        <span className="no">No environment</span>
                      ) : (
                        <ul className="plain">
                          {need.environments.map((e) => (
                            <li key={e.guid}>
                              <a href={`#/environments/${e.guid}`}>{e.title ?? e.name}</a>{" "}
                              <span className="mono">
                                ({e.name}, {need.runtime} {e.installation}
                                {e.matching === "exact" ? ", only when asked for" : ""})
                              </span>
                            </li>
                          ))}
                        </ul>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2 id="unsatisfied-heading">Content with no compatible environment</h2>
          {data.unsatisfied.length === 0 ? (
            <p className="ok">Every deployed content item has a compatible environment.</p>
          ) : (
            <ul aria-labelledby="unsatisfied-heading" className="unsatisfied">
              {data.unsatisfied.map((item) => (
                <li key={item.guid}>
                  <a href={`#/content/${item.guid}`}>{item.title ?? item.name}</a>:{" "}
                  {item.needs.map(needLabel).join(" and ") || "unreadable manifest"}.{" "}
                  <span className="detail">{item.error}</span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
