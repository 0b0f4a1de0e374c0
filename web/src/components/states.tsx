/** The four states every data view shows clearly: loading, empty, error, and the data. */

import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../lib/api";

export function Loading({ what }: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="state empty">{children}</p>;
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message =
    error instanceof ApiError ? error.detail : error instanceof Error ? error.message : String(error);
  return (
    <div class="state error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export interface Load<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `fetcher` when `deps` change; `reload()` runs it again without clearing the
 * data shown (no flash of "Loading…" on a refresh). */
export function useLoad<T>(fetcher: () => Promise<T>, deps: unknown[]): Load<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fetcher().then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (failure) => {
        if (!live) return;
        setError(failure);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload };
}

/** Loading / error / empty / content, in that order. */
export function Loaded<T>({
  load,
  what,
  empty,
  isEmpty,
  children,
}: {
  load: Load<T>;
  what: string;
  empty?: ComponentChildren;
  isEmpty?: (data: T) => boolean;
  children: (data: T) => ComponentChildren;
}) {
  if (load.data === undefined) {
    if (load.error !== undefined) return <ErrorBox error={load.error} retry={load.reload} />;
    return <Loading what={what} />;
  }
  return (
    <>
      {load.error !== undefined && <ErrorBox error={load.error} retry={load.reload} />}
      {isEmpty?.(load.data) ? <Empty>{empty ?? `No ${what} yet.`}</Empty> : children(load.data)}
    </>
  );
}
