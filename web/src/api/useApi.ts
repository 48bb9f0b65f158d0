import { useCallback, useEffect, useRef, useState } from "react";
import { apiJson } from "./client";
import { ApiError } from "./errors";

export interface ApiState<T> {
  data: T | null;
  error: string | null;
  status: number | null; // the error's HTTP status (0: network)
  loading: boolean;
  reload: () => Promise<void>;
}

// GET a JSON resource; a new path loads again (the old answer dropped), null loads nothing.
// reload() keeps the shown data while it runs (for periodic refresh).
export function useApi<T>(path: string | null): ApiState<T> {
  const [state, setState] = useState<Omit<ApiState<T>, "reload">>({
    data: null,
    error: null,
    status: null,
    loading: path !== null,
  });
  const current = useRef(path);
  current.current = path;
  const ctl = useRef<AbortController | null>(null);

  const load = useCallback(async (p: string) => {
    ctl.current?.abort();
    const ac = new AbortController();
    ctl.current = ac;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await apiJson<T>(p, { signal: ac.signal });
      if (ac.signal.aborted || current.current !== p) return;
      setState({ data, error: null, status: null, loading: false });
    } catch (e) {
      if (ac.signal.aborted || current.current !== p) return;
      setState((s) => ({
        ...s,
        error: e instanceof ApiError ? e.message : "Loading failed.",
        status: e instanceof ApiError ? e.status : null,
        loading: false,
      }));
    }
  }, []);

  useEffect(() => {
    setState({ data: null, error: null, status: null, loading: path !== null });
    if (path !== null) void load(path);
    return () => ctl.current?.abort();
  }, [path, load]);

  const reload = useCallback(async () => {
    if (current.current !== null) await load(current.current);
  }, [load]);

  return { ...state, reload };
}
