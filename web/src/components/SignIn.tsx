import { useState } from "react";
import { api, describeFailure, setApiKey, setCsrfToken, type User } from "../api";
import { useTitle } from "../title";

export function SignIn(props: { onSignedIn(user: User): void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [key, setKey] = useState("");
  const [error, setError] = useState("");
  useTitle("Sign in");
  return (
    <main className="sign-in">
      <h1>Sign in to Slipway</h1>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          try {
            const session = await api<{ user: User; csrf_token: string }>(
              "POST",
              "/slipway/v1/session",
              { username, password },
            );
            setCsrfToken(session.csrf_token);
            const back = returnPath(window.location.search);
            if (back) window.location.assign(back);
            else props.onSignedIn(session.user);
          } catch (failure) {
            setError(describeFailure(failure));
          }
        }}
      >
        <label>
          Username
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <p className="field-error" role="alert">
          {error}
        </p>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
      <details>
        <summary>Sign in with an API key</summary>
        <form
          onSubmit={async (event) => {
            event.preventDefault();
            setApiKey(key.trim());
            try {
              const session = await api<{ user: User }>("GET", "/slipway/v1/session");
              props.onSignedIn(session.user);
            } catch (failure) {
              setApiKey(null);
              setError(describeFailure(failure));
            }
          }}
        >
          <label>
            API key
            <input
              name="api-key"
              type="password"
              value={key}
              onChange={(e) => setKey(e.target.value)}
            />
          </label>
          <button type="submit">Use API key</button>
        </form>
      </details>
    </main>
  );
}

/**
 * Where the content URL asked to be sent back to after sign-in: only a path of this server's
 * content, so a crafted link cannot send the visitor elsewhere. Only the password sign-in
 * returns there, as only it gives the session cookie content is opened with.
 */
export function returnPath(search: string): string | null {
  const back = new URLSearchParams(search).get("return");
  return back && /^\/content\/[^/\\]/.test(back) ? back : null;
}
