import { useTitle } from "../title";

export function NotAllowed(props: { what: string; who?: string }) {
  useTitle("Not available");
  return (
    <section>
      <h1>Not available to you</h1>
      <p>
        {props.what} is for {props.who ?? "publishers and administrators"}. Ask an administrator if
        you need access.
      </p>
    </section>
  );
}
