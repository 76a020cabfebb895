/** Every load the dashboard makes ends in its data or in an error a person can read and retry. */
import { type DependencyList, useCallback, useEffect, useState } from "react";
import { describeFailure } from "./api";

export interface Load<T> {
  data: T | undefined;
  error: string | undefined;
  reload(): void;
}

export function useLoad<T>(load: () => Promise<T>, deps: DependencyList): Load<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [round, setRound] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  const run = useCallback(load, deps);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new round is what "Try again" asks for
  useEffect(() => {
    let current = true;
    setError(undefined);
    run().then(
      (value) => current && setData(value),
      (failure: unknown) => current && setError(describeFailure(failure)),
    );
    return () => {
      current = false;
    };
  }, [run, round]);
  return { data, error, reload: () => setRound((r) => r + 1) };
}

/** What stands in for data not loaded yet: "Loading…", or the failure with a way to retry. */
export function LoadState(props: { load: Load<unknown>; what: string }) {
  if (props.load.error === undefined) return <p aria-busy="true">Loading {props.what}…</p>;
  return (
    <div role="alert" className="load-error">
      <p>
        Could not load {props.what}: {props.load.error}
      </p>
      <button type="button" onClick={props.load.reload}>
        Try again
      </button>
    </div>
  );
}

/**
 * Changes made from a page over loaded data: each says how it went in `message` (the server's
 * refusal, or `done`), and a change that went through loads the data again.
 */
export function useChange(load: Load<unknown>) {
  const [message, setMessage] = useState("");
  const change = async (what: () => Promise<unknown>, done: string) => {
    try {
      await what();
      setMessage(done);
      load.reload();
    } catch (error) {
      setMessage(describeFailure(error));
    }
  };
  return { message, change };
}
