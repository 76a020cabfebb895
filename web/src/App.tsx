import { useEffect, useState } from "react";
import { api, apiKey, setApiKey, setCsrfToken, type User } from "./api";
import { ContentList } from "./components/ContentList";
import { ContentPage } from "./components/ContentPage";
import { EnvironmentsPage } from "./components/EnvironmentsPage";
import { NotAllowed } from "./components/NotAllowed";
import { RuntimeCachesPage } from "./components/RuntimeCachesPage";
import { RuntimesPage } from "./components/RuntimesPage";
import { SignIn } from "./components/SignIn";
import { navigate, useRoute } from "./route";

export function App() {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const route = useRoute();
  useEffect(() => {
    api<{ user: User; csrf_token: string | null }>("GET", "/slipway/v1/session")
      .then((session) => {
        setCsrfToken(session.csrf_token);
        setUser(session.user);
      })
      .catch(() => setUser(null));
  }, []);
  if (user === undefined) return <p aria-busy="true">Loading…</p>;
  if (user === null) return <SignIn onSignedIn={setUser} />;

  const canSeeEnvironments = user.user_role !== "viewer";
  const admin = user.user_role === "administrator";
  const [, section, guid, tab] = route.path.split("/");
  if (route.path === "/") navigate(canSeeEnvironments ? "/environments" : "/content");
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Slipway</span>
        <nav aria-label="Main">
          {canSeeEnvironments && (
            <a href="#/environments" aria-current={section === "environments" ? "page" : undefined}>
              Environments
            </a>
          )}
          {canSeeEnvironments && (
            <a href="#/runtimes" aria-current={section === "runtimes" ? "page" : undefined}>
              Runtimes
            </a>
          )}
          {admin && (
            <a href="#/caches" aria-current={section === "caches" ? "page" : undefined}>
              Caches
            </a>
          )}
          <a
            href="#/content"
            aria-current={section === "content" || section === "apps" ? "page" : undefined}
          >
            Content
          </a>
        </nav>
        <span className="who">
          {user.username} ({user.user_role})
          <button
            type="button"
            onClick={async () => {
              if (apiKey()) setApiKey(null);
              else await api("DELETE", "/slipway/v1/session");
              setCsrfToken(null);
              setUser(null);
            }}
          >
            Sign out
          </button>
        </span>
      </header>
      <main id="main">
        {section === "environments" ? (
          canSeeEnvironments ? (
            <EnvironmentsPage user={user} route={route} />
          ) : (
            <NotAllowed what="The Environments tab" />
          )
        ) : section === "runtimes" ? (
          canSeeEnvironments ? (
            <RuntimesPage />
          ) : (
            <NotAllowed what="The Runtimes report" />
          )
        ) : section === "caches" ? (
          admin ? (
            <RuntimeCachesPage />
          ) : (
            <NotAllowed what="The Runtime caches page" who="administrators" />
          )
        ) : (section === "content" || section === "apps") && guid ? (
          // Connect's dashboard_url is #/apps/GUID: the same page.
          <ContentPage key={guid} guid={guid} tab={tab} user={user} />
        ) : (
          <ContentList />
        )}
      </main>
    </>
  );
}
