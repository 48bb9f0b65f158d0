import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { apiFetch, apiJson, readError } from "../api/client";
import { ApiError } from "../api/errors";
import { followEvents, type LiveState } from "../api/events";
import type { Call, CallPage } from "../api/types";
import {
  filtersToQuery,
  ORDERS,
  queryToFilters,
  SORTS,
  STATUSES,
  type CallFilters,
  type FilterProblem,
} from "../lib/filters";
import { applyLiveChange, isUnseenNewCall, parseLiveEvent } from "../lib/live";
import { useAuth } from "../auth";
import { UploadCall } from "../components/UploadCall";
import { computeWindow, shouldLoadMore } from "../lib/windowing";
import { formatDateTime, formatDuration, formatNumber, formatScore, joinCsvPages } from "../lib/format";
import { downloadText } from "../lib/download";
import { StatusBadge } from "../components/StatusBadge";

export const ROW_HEIGHT = 44;
const PAGE_SIZE = 100;
const OVERSCAN = 10;
const LOAD_AHEAD_ROWS = 40;
const CSV_PAGE_SIZE = 500;
const CSV_MAX_PAGES = 40; // 20,000 rows per export

interface ListState {
  rows: Call[];
  cursor: string | null;
  done: boolean;
  loading: boolean;
  error: string | null;
}

const EMPTY: ListState = { rows: [], cursor: null, done: false, loading: true, error: null };

export function CallsPage() {
  const [params, setParams] = useSearchParams();
  const parsed = useMemo(() => queryToFilters(params), [params]);
  const apiQuery = filtersToQuery(parsed.filters);
  const blocked = parsed.problems.length > 0;

  const [list, setList] = useState<ListState>(EMPTY);
  const [live, setLive] = useState<LiveState>("connecting");
  const gen = useRef(0);
  // Calls created since the list was loaded (live events of calls it does not hold).
  const [newCalls, setNewCalls] = useState(0);
  const rowsRef = useRef<Call[]>([]);
  rowsRef.current = list.rows;
  const { session } = useAuth();
  const uploader = session?.role === "admin" || session?.role === "platform_admin";

  const loadPage = useCallback(
    async (cursor: string | null, g: number) => {
      setList((s) => ({ ...s, loading: true, error: null }));
      const q = new URLSearchParams(apiQuery);
      q.set("limit", String(PAGE_SIZE));
      if (cursor) q.set("cursor", cursor);
      try {
        const page = await apiJson<CallPage>(`/api/v1/calls?${q.toString()}`);
        if (g !== gen.current) return;
        setList((s) => ({
          rows: cursor ? s.rows.concat(page.items) : page.items,
          cursor: page.next_cursor ?? null,
          done: !page.next_cursor,
          loading: false,
          error: null,
        }));
      } catch (e) {
        if (g !== gen.current) return;
        setList((s) => ({ ...s, loading: false, error: e instanceof ApiError ? e.message : "Loading failed." }));
      }
    },
    [apiQuery],
  );

  // A new filter set (or "show new calls") starts the list again.
  const restart = useCallback(() => {
    const g = ++gen.current;
    setNewCalls(0);
    setList(blocked ? { ...EMPTY, loading: false } : EMPTY);
    if (!blocked) void loadPage(null, g);
  }, [loadPage, blocked]);
  useEffect(restart, [restart]);

  // Live status of the loaded calls.
  useEffect(() => {
    const ac = new AbortController();
    void followEvents(
      ac.signal,
      (e) => {
        const c = parseLiveEvent(e.event, e.data);
        if (!c) return;
        if (isUnseenNewCall(rowsRef.current, c)) setNewCalls((n) => n + 1);
        else setList((s) => ({ ...s, rows: applyLiveChange(s.rows, c) }));
      },
      setLive,
    );
    return () => ac.abort();
  }, []);

  const loadMore = useCallback(() => {
    if (list.loading || list.done || list.error || !list.cursor) return;
    void loadPage(list.cursor, gen.current);
  }, [list, loadPage]);

  return (
    <section className="calls-page" aria-labelledby="calls-title">
      <div className="page-head">
        <h1 id="calls-title">Calls</h1>
        <span className={`live live-${live}`} role="status">
          {live === "live" ? "Live" : live === "stopped" ? "Live updates off" : "Connecting live updates…"}
        </span>
      </div>
      <FilterForm
        key={params.toString()}
        initial={params}
        onApply={(f) => setParams(filtersToQuery(f))}
        onReset={() => setParams("")}
      />
      {blocked && <Problems problems={parsed.problems} />}
      <div className="toolbar">
        <span className="muted" aria-live="polite">
          {list.rows.length} {list.rows.length === 1 ? "call" : "calls"} loaded{list.done ? "" : list.rows.length ? ", more below" : ""}
        </span>
        {newCalls > 0 && (
          <button type="button" className="secondary" onClick={restart} data-testid="new-calls">
            {newCalls === 1 ? "1 new call" : `${newCalls} new calls`}: show
          </button>
        )}
        <ExportCsv apiQuery={apiQuery} disabled={blocked} />
        {uploader && <UploadCall />}
      </div>
      {list.error && (
        <div role="alert" className="error banner">
          {list.error}{" "}
          <button type="button" className="secondary" onClick={() => void loadPage(list.rows.length ? list.cursor : null, gen.current)}>
            Retry
          </button>
        </div>
      )}
      {!blocked && !list.loading && !list.error && list.rows.length === 0 && (
        <p className="empty">No calls match these filters</p>
      )}
      <CallList rows={list.rows} loading={list.loading} done={list.done} onNearEnd={loadMore} />
    </section>
  );
}

function Problems({ problems }: { problems: FilterProblem[] }) {
  return (
    <div role="alert" className="error banner">
      <p>These filters in the address are not valid, so no calls were loaded:</p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>
            {p.message} (got “{p.value}”)
          </li>
        ))}
      </ul>
    </div>
  );
}

const STATUS_LABELS: Record<string, string> = Object.fromEntries(STATUSES.map((s) => [s, s]));
const SORT_LABELS: Record<string, string> = {
  started_at: "Started",
  duration: "Duration",
  sentiment: "Sentiment",
  qa_score: "QA score",
};

function FilterForm({
  initial,
  onApply,
  onReset,
}: {
  initial: URLSearchParams;
  onApply: (f: CallFilters) => void;
  onReset: () => void;
}) {
  const field = (k: string) => initial.get(k) ?? "";
  const [v, setV] = useState<Record<string, string>>(() => ({
    from: field("from"),
    to: field("to"),
    status: field("status"),
    category: field("category"),
    city: field("city"),
    agent_id: field("agent_id"),
    sentiment_min: field("sentiment_min"),
    sentiment_max: field("sentiment_max"),
    q: field("q"),
    sort: field("sort"),
    order: field("order"),
  }));
  const [problems, setProblems] = useState<FilterProblem[]>([]);
  const set = (k: string) => (e: { target: { value: string } }) => setV((s) => ({ ...s, [k]: e.target.value }));

  function submit(e: FormEvent) {
    e.preventDefault();
    const r = queryToFilters(new URLSearchParams(v));
    setProblems(r.problems);
    if (r.problems.length === 0) onApply(r.filters);
  }

  const input = (k: string, label: string, props: Record<string, unknown> = {}) => (
    <div className="field">
      <label htmlFor={`f-${k}`}>{label}</label>
      <input id={`f-${k}`} name={k} value={v[k] ?? ""} onChange={set(k)} {...props} />
    </div>
  );

  return (
    <form className="filters card" role="search" aria-label="Filter calls" onSubmit={submit} noValidate>
      {input("q", "Search transcripts", { type: "search", maxLength: 256 })}
      {input("from", "From", { type: "date" })}
      {input("to", "To", { type: "date" })}
      <div className="field">
        <label htmlFor="f-status">Status</label>
        <select id="f-status" value={v.status} onChange={set("status")}>
          <option value="">Any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      {input("category", "Category", { maxLength: 128 })}
      {input("city", "City", { maxLength: 128 })}
      {input("agent_id", "Agent id", { inputMode: "numeric" })}
      {input("sentiment_min", "Sentiment min", { type: "number", min: -1, max: 1, step: "any" })}
      {input("sentiment_max", "Sentiment max", { type: "number", min: -1, max: 1, step: "any" })}
      <div className="field">
        <label htmlFor="f-sort">Sort by</label>
        <select id="f-sort" value={v.sort} onChange={set("sort")}>
          <option value="">Started (default)</option>
          {SORTS.map((s) => (
            <option key={s} value={s}>
              {SORT_LABELS[s]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-order">Order</label>
        <select id="f-order" value={v.order} onChange={set("order")}>
          <option value="">Default (descending)</option>
          {ORDERS.map((o) => (
            <option key={o} value={o}>
              {o === "desc" ? "Descending" : "Ascending"}
            </option>
          ))}
        </select>
      </div>
      <div className="actions">
        <button type="submit">Apply filters</button>
        <button type="button" className="secondary" onClick={onReset}>
          Clear
        </button>
      </div>
      {problems.length > 0 && (
        <ul role="alert" className="error form-problems">
          {problems.map((p, i) => (
            <li key={i}>{p.message}</li>
          ))}
        </ul>
      )}
    </form>
  );
}

function ExportCsv({ apiQuery, disabled }: { apiQuery: string; disabled: boolean }) {
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ error: boolean; text: string } | null>(null);
  async function run() {
    setBusy(true);
    setMsg(null);
    try {
      const pages: string[] = [];
      let cursor: string | null = null;
      let truncated = false;
      for (let i = 0; ; i++) {
        if (i === CSV_MAX_PAGES) {
          truncated = true;
          break;
        }
        const q = new URLSearchParams(apiQuery);
        q.set("format", "csv");
        q.set("limit", String(CSV_PAGE_SIZE));
        if (cursor) q.set("cursor", cursor);
        const res = await apiFetch(`/api/v1/calls?${q.toString()}`, { accept: "text/csv" });
        if (!res.ok) throw await readError(res);
        pages.push(await res.text());
        cursor = res.headers.get("X-Next-Cursor");
        if (!cursor) break;
      }
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      downloadText(joinCsvPages(pages), `calls-${stamp}.csv`, "text/csv;charset=utf-8");
      setMsg(
        truncated
          ? { error: false, text: `Exported the first ${CSV_MAX_PAGES * CSV_PAGE_SIZE} calls; narrow the filters for the rest.` }
          : null,
      );
    } catch (e) {
      setMsg({ error: true, text: e instanceof ApiError ? e.message : "Export failed." });
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="export">
      <button type="button" className="secondary" onClick={() => void run()} disabled={busy || disabled}>
        {busy ? "Exporting…" : "Export CSV"}
      </button>
      {msg && (
        <span role={msg.error ? "alert" : "status"} className={msg.error ? "error" : "muted"}>
          {msg.text}
        </span>
      )}
    </span>
  );
}

const COLUMNS = ["Started", "Agent", "Status", "Duration", "Sentiment", "QA score", "Category", "City"];

function CallList({
  rows,
  loading,
  done,
  onNearEnd,
}: {
  rows: Call[];
  loading: boolean;
  done: boolean;
  onNearEnd: () => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const w = computeWindow({ scrollTop, viewportHeight: height, rowHeight: ROW_HEIGHT, rowCount: rows.length, overscan: OVERSCAN });

  useEffect(() => {
    if (shouldLoadMore(w, rows.length, !done, loading, LOAD_AHEAD_ROWS)) onNearEnd();
  }, [w.end, rows.length, done, loading, onNearEnd]); // eslint-disable-line react-hooks/exhaustive-deps

  const visible = rows.slice(w.start, w.end);
  return (
    <div className="list-wrap">
      <div className="call-grid call-head" aria-hidden="true">
        {COLUMNS.map((c) => (
          <span key={c}>{c}</span>
        ))}
      </div>
      <div
        className="list-scroll"
        ref={scroller}
        onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
        role="list"
        aria-label="Calls"
        aria-busy={loading}
      >
        <div className="list-spacer" style={{ height: w.totalHeight }}>
          {visible.map((c, i) => (
            <div
              role="listitem"
              key={c.id}
              className="list-item"
              style={{ top: (w.start + i) * ROW_HEIGHT, height: ROW_HEIGHT }}
            >
              <Link
                to={`/calls/${c.id}`}
                className="call-grid call-row"
                data-testid="call-row"
                data-call-id={c.id}
              >
                <span className="sr-only">Call {c.id}: </span>
                <span>{formatDateTime(c.started_at)}</span>
                <span>{c.human_agent_id ?? "—"}</span>
                <span>
                  <StatusBadge status={c.status} />
                </span>
                <span>{formatDuration(c.duration_ms)}</span>
                <span>{formatNumber(c.customer_sentiment)}</span>
                <span>{formatScore(c.qa_score)}</span>
                <span className="clip">{c.issue_category || "—"}</span>
                <span className="clip">{c.city || "—"}</span>
              </Link>
            </div>
          ))}
        </div>
        {loading && (
          <p className="list-loading" role="status">
            Loading calls…
          </p>
        )}
      </div>
    </div>
  );
}
