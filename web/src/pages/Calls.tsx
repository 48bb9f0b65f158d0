import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { apiFetch, apiJson, readError } from "../api/client";
import { ApiError } from "../api/errors";
import { followEvents, type LiveState } from "../api/events";
import type { Call, CallPage } from "../api/types";
import {
  DIRECTIONS,
  filtersOnlyQuery,
  filtersToQuery,
  ORDERS,
  queryToFilters,
  SORTS,
  STATUSES,
  type CallFilters,
  type FilterProblem,
} from "../lib/filters";
import { applyLiveChange, isUnseenNewCall, parseLiveEvent } from "../lib/live";
import { UploadCall } from "../components/UploadCall";
import { computeWindow, shouldLoadMore } from "../lib/windowing";
import { formatDateTime, formatDuration, formatNumber, formatScore, joinCsvPages } from "../lib/format";
import { downloadText } from "../lib/download";
import { StatusBadge } from "../components/StatusBadge";
import { useAuth } from "../auth";
import { useApi } from "../api/useApi";
import { bidPath } from "../lib/admin";
import { callsCacheKey, createListCache, reprocessOutcome, reprocessQuestion } from "../lib/callsCache";

export const ROW_HEIGHT = 44;
const PAGE_SIZE = 100;
const OVERSCAN = 10;
const LOAD_AHEAD_ROWS = 40;
const CSV_PAGE_SIZE = 500;
const CSV_MAX_PAGES = 40; // 20,000 rows per export

interface ListState {
  key: string; // the list's cache key: the business and the query string
  rows: Call[];
  cursor: string | null;
  done: boolean;
  loading: boolean;
  error: string | null;
  scrollTop: number; // where the list was left (restored when it is shown again)
  pageY: number;
  lastEventId?: string; // a cached list: the last live event applied to its rows
}

const EMPTY: Omit<ListState, "key"> = { rows: [], cursor: null, done: false, loading: true, error: null, scrollTop: 0, pageY: 0 };

// The list as it was left, for 60 s: coming back from a call shows the same rows at the
// same place without loading them again (src/lib/callsCache.ts).
const listCache = createListCache<Call>();

function initialList(key: string, blocked: boolean): ListState {
  if (blocked) return { ...EMPTY, key, loading: false };
  const c = listCache.get(key, Date.now());
  return c ? { ...c, key, loading: false, error: null } : { ...EMPTY, key };
}

export function CallsPage() {
  const [params, setParams] = useSearchParams();
  const { session, actingBid } = useAuth();
  const parsed = useMemo(() => queryToFilters(params), [params]);
  const apiQuery = filtersToQuery(parsed.filters);
  const blocked = parsed.problems.length > 0;
  const cacheKey = blocked ? `!${params.toString()}` : callsCacheKey(session?.bid ?? actingBid, apiQuery);

  const ruleCategories = useRuleCategories();
  const [stored, setList] = useState<ListState>(() => initialList(cacheKey, blocked));
  let list = stored;
  if (stored.key !== cacheKey) {
    // New filters: the list starts again (or comes back from the cache) in this render.
    list = initialList(cacheKey, blocked);
    setList(list);
  }
  const [live, setLive] = useState<LiveState>("connecting");
  const gen = useRef(0);
  // Calls created since the list was loaded (live events of calls it does not hold).
  const [newCalls, setNewCalls] = useState(0);
  const listRef = useRef(list);
  // The last live event applied; a list from the cache resumes the events after its own.
  const lastEventId = useRef(list.lastEventId ?? "");
  listRef.current = list;
  // Where the shown list is scrolled to (its key: the list it belongs to).
  const scroll = useRef({ key: cacheKey, top: list.scrollTop });
  if (scroll.current.key !== cacheKey) scroll.current = { key: cacheKey, top: list.scrollTop };
  // Scroll events after the page has gone (the browser clamping the window's scroll for the
  // next page) must not overwrite where the list was left.
  const shown = useRef(false);
  useLayoutEffect(() => {
    shown.current = true;
    return () => {
      shown.current = false;
    };
  }, []);

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
          ...s,
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

  // A new filter set starts the list again, unless it came back from the cache.
  useEffect(() => {
    const g = ++gen.current;
    const s = listRef.current;
    if (!blocked && s.loading && s.rows.length === 0) void loadPage(null, g);
  }, [loadPage, blocked, cacheKey]);

  // The shown list is kept in the cache as it changes, with its scroll positions.
  const remember = useCallback(() => {
    const s = listRef.current;
    if (!shown.current || blocked || s.error || s.rows.length === 0 || s.key !== cacheKey) return;
    const top = scroll.current.key === cacheKey ? scroll.current.top : 0;
    listCache.put(
      cacheKey,
      { rows: s.rows, cursor: s.cursor, done: s.done, scrollTop: top, pageY: window.scrollY, lastEventId: lastEventId.current },
      Date.now(),
    );
  }, [blocked, cacheKey]);
  useEffect(() => {
    if (!list.loading) remember();
  }, [list.rows, list.cursor, list.done, list.loading, remember]);
  useEffect(() => {
    window.addEventListener("scroll", remember, { passive: true });
    return () => window.removeEventListener("scroll", remember);
  }, [remember]);
  const onListScroll = useCallback(
    (top: number) => {
      scroll.current = { key: cacheKey, top };
      remember();
    },
    [cacheKey, remember],
  );
  // Back on a cached list: the page where it was.
  useLayoutEffect(() => {
    if (list.pageY > 0) window.scrollTo(0, list.pageY);
    // Only when a list is first shown.
  }, [cacheKey]); // eslint-disable-line react-hooks/exhaustive-deps

  // "N new calls: show": the list loaded again from the top (not from the cache).
  const restart = useCallback(() => {
    const g = ++gen.current;
    setNewCalls(0);
    listCache.drop(cacheKey);
    setList({ ...EMPTY, key: cacheKey });
    if (!blocked) void loadPage(null, g);
  }, [loadPage, blocked, cacheKey]);

  // Live status of the loaded calls. A list from the cache resumes the events after the last
  // one it had applied (the gateway replays the rest, so it does not miss what changed while
  // it was not shown); a freshly loaded list keeps the stream that is running.
  const stream = useRef<AbortController | null>(null);
  const resumeFrom = list.lastEventId;
  useEffect(() => {
    if (stream.current && resumeFrom === undefined) return;
    stream.current?.abort();
    const ac = new AbortController();
    stream.current = ac;
    lastEventId.current = resumeFrom ?? lastEventId.current;
    void followEvents(
      ac.signal,
      (e) => {
        lastEventId.current = e.id;
        const c = parseLiveEvent(e.event, e.data);
        if (!c) return;
        if (isUnseenNewCall(listRef.current.rows, c)) setNewCalls((n) => n + 1);
        else setList((s) => ({ ...s, rows: applyLiveChange(s.rows, c) }));
      },
      setLive,
      lastEventId.current,
    );
  }, [list.key, resumeFrom]);
  useEffect(
    () => () => {
      stream.current?.abort();
      stream.current = null;
    },
    [],
  );

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
        ruleCategories={ruleCategories}
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
        {session && (session.role === "admin" || session.role === "platform_admin") && (
          <BulkReprocess filterQuery={filtersOnlyQuery(parsed.filters)} loaded={list.rows.length} done={list.done} disabled={blocked} />
        )}
        {session && (session.role === "admin" || session.role === "platform_admin") && <UploadCall />}
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
      <CallList
        key={cacheKey}
        rows={list.rows}
        loading={list.loading}
        done={list.done}
        onNearEnd={loadMore}
        initialScrollTop={list.scrollTop}
        onScrollTop={onListScroll}
      />
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

interface RuleCategory {
  id: number;
  name: string;
}

// The business's rule categories by name, for the filter's select. Only admins (and platform
// admins acting on a business) may read the list (GET /api/v1/admin/businesses/{bid}/categories);
// null for anyone else, or while it loads or when it cannot be read: the filter then takes
// the category id as a number.
function useRuleCategories(): RuleCategory[] | null {
  const { session, actingBid } = useAuth();
  const canRead = (session?.role === "admin" || session?.role === "platform_admin") && actingBid !== null;
  const list = useApi<{ items: RuleCategory[] }>(canRead && actingBid ? bidPath(actingBid, "/categories") : null);
  return list.data?.items ?? null;
}

const DIRECTION_LABELS: Record<(typeof DIRECTIONS)[number], string> = {
  inbound: "Inbound",
  outbound: "Outbound",
  unknown: "Unknown",
};

function FilterForm({
  initial,
  ruleCategories,
  onApply,
  onReset,
}: {
  initial: URLSearchParams;
  ruleCategories: RuleCategory[] | null;
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
    talk_ratio_min: field("talk_ratio_min"),
    talk_ratio_max: field("talk_ratio_max"),
    language: field("language"),
    direction: field("direction"),
    qa_min: field("qa_min"),
    qa_max: field("qa_max"),
    category_id: field("category_id"),
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
      {input("category", "Issue category", { maxLength: 128 })}
      {ruleCategories ? (
        <div className="field">
          <label htmlFor="f-category_id">Rule category</label>
          <select id="f-category_id" value={v.category_id} onChange={set("category_id")} data-testid="filter-rule-category">
            <option value="">Any</option>
            {ruleCategories.map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.name}
              </option>
            ))}
            {v.category_id && !ruleCategories.some((c) => String(c.id) === v.category_id) && (
              <option value={v.category_id}>Category #{v.category_id}</option>
            )}
          </select>
        </div>
      ) : (
        input("category_id", "Rule category id", { inputMode: "numeric", "data-testid": "filter-rule-category" })
      )}
      {input("city", "City", { maxLength: 128 })}
      {input("agent_id", "Agent id", { inputMode: "numeric" })}
      {input("sentiment_min", "Sentiment min", { type: "number", min: -1, max: 1, step: "any" })}
      {input("sentiment_max", "Sentiment max", { type: "number", min: -1, max: 1, step: "any" })}
      {input("talk_ratio_min", "Talk ratio min (0-1)", { type: "number", min: 0, max: 1, step: "any", "data-testid": "filter-talk-ratio-min" })}
      {input("talk_ratio_max", "Talk ratio max (0-1)", { type: "number", min: 0, max: 1, step: "any", "data-testid": "filter-talk-ratio-max" })}
      {input("language", "Language", { maxLength: 16, "data-testid": "filter-language" })}
      <div className="field">
        <label htmlFor="f-direction">Direction</label>
        <select id="f-direction" value={v.direction} onChange={set("direction")} data-testid="filter-direction">
          <option value="">Any</option>
          {DIRECTIONS.map((d) => (
            <option key={d} value={d}>
              {DIRECTION_LABELS[d]}
            </option>
          ))}
        </select>
      </div>
      {input("qa_min", "QA score min (0-1)", { type: "number", min: 0, max: 1, step: "any", "data-testid": "filter-qa-min" })}
      {input("qa_max", "QA score max (0-1)", { type: "number", min: 0, max: 1, step: "any", "data-testid": "filter-qa-max" })}
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

// Reprocess every call matching the filters (POST /api/v1/calls/reprocess with the list's
// filters, without sort and order): asks first, saying how many calls are loaded and that
// the server applies the filters itself, then shows the answer's counts.
function BulkReprocess({ filterQuery, loaded, done, disabled }: { filterQuery: string; loaded: number; done: boolean; disabled: boolean }) {
  const [stage, setStage] = useState<"analyze" | "transcribe">("analyze");
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ error: boolean; text: string } | null>(null);
  async function run() {
    setAsking(false);
    setBusy(true);
    setMsg(null);
    try {
      const answer = await apiJson<unknown>(`/api/v1/calls/reprocess${filterQuery ? `?${filterQuery}` : ""}`, { method: "POST", json: { stage } });
      setMsg({ error: false, text: reprocessOutcome(answer) });
    } catch (e) {
      setMsg({ error: true, text: e instanceof ApiError ? e.message : "Reprocessing failed." });
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="bulk-reprocess">
      <label htmlFor="bulk-stage">Reprocess</label>{" "}
      <select id="bulk-stage" data-testid="bulk-reprocess-stage" value={stage} onChange={(e) => setStage(e.target.value as "analyze" | "transcribe")} disabled={busy}>
        <option value="analyze">analysis only</option>
        <option value="transcribe">transcription and analysis</option>
      </select>{" "}
      <button type="button" className="secondary" data-testid="bulk-reprocess" disabled={busy || disabled} onClick={() => setAsking(true)} aria-expanded={asking}>
        {busy ? "Reprocessing…" : "Reprocess matching calls"}
      </button>
      {asking && (
        <span role="alertdialog" aria-modal="false" aria-labelledby="bulk-question" className="confirm" data-testid="bulk-reprocess-confirm">
          <span id="bulk-question">{reprocessQuestion(loaded, done, stage)}</span>{" "}
          <button type="button" autoFocus data-testid="bulk-reprocess-yes" onClick={() => void run()}>
            Reprocess
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </span>
      )}
      {msg && (
        <span role={msg.error ? "alert" : "status"} className={msg.error ? "error" : "muted"} data-testid="bulk-reprocess-result">
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
  initialScrollTop,
  onScrollTop,
}: {
  rows: Call[];
  loading: boolean;
  done: boolean;
  onNearEnd: () => void;
  initialScrollTop: number;
  onScrollTop: (top: number) => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(initialScrollTop);
  const [height, setHeight] = useState(600);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (initialScrollTop > 0) {
      el.scrollTop = initialScrollTop;
      setScrollTop(el.scrollTop);
    }
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
        onScroll={(e) => {
          setScrollTop(e.currentTarget.scrollTop);
          onScrollTop(e.currentTarget.scrollTop);
        }}
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
