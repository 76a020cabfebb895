import { useEffect, useState } from "react";
import { api, apiKey, setApiKey, setCsrfToken, type User } from "./api";
import { ContentList } from "./components/ContentList";
import { ContentPage } from "./components/ContentPage";
import { EnvironmentsPage } from "./components/EnvironmentsPage";
import { NotAllowed } from "./components/NotAllowed";
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
  if (user === undefined) return <p>Loading…</p>;
  if (user === null) return <SignIn onSignedIn={setUser} />;

  const canSeeEnvironments = user.user_role !== "viewer";
  const section = route.path.split("/")[1];
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
          <a href="#/content" aria-current={section === "content" ? "page" : undefined}>
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
        ) : section === "content" && route.path.split("/")[2] ? (
          <ContentPage guid={route.path.split("/")[2]!} user={user} />
        ) : (
          <ContentList />
        )}
      </main>
    </>
  );
}
