import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { apiJson } from "../api/client";
import { ApiError } from "../api/errors";
import type { CallDetail, Note, TranscriptExport } from "../api/types";
import { canWriteNotes, useAuth } from "../auth";
import { AudioPlayer } from "../components/AudioPlayer";
import { JsonView } from "../components/JsonView";
import { StatusBadge } from "../components/StatusBadge";
import { Timeline } from "../components/Timeline";
import { formatQaScore, sortAnalyses } from "../lib/callAnalyses";
import { linesInSpans } from "../lib/callCategories";
import { downloadText } from "../lib/download";
import { formatDateTime, formatDuration, formatNumber } from "../lib/format";
import { currentLine, layoutTimeline, parseSeconds, sortedOrder } from "../lib/timeline";
import {
  mmss,
  normalizeSegments,
  transcriptToJson,
  transcriptToSrt,
  transcriptToTxt,
  type Segment,
} from "../lib/transcript";

// The analysis sections come in their own chunk (components/CallAnalysis.tsx).
const analysis = () => import("../components/CallAnalysis");
const CallCategories = lazy(() => analysis().then((m) => ({ default: m.CallCategories })));
const CallFigures = lazy(() => analysis().then((m) => ({ default: m.CallFigures })));
const CallSummary = lazy(() => analysis().then((m) => ({ default: m.CallSummary })));
const PiiNote = lazy(() => analysis().then((m) => ({ default: m.PiiNote })));
const AgentOutput = lazy(() => analysis().then((m) => ({ default: m.AgentOutput })));
const CallQa = lazy(() => analysis().then((m) => ({ default: m.CallQa })));
const CoachingNudges = lazy(() => analysis().then((m) => ({ default: m.CoachingNudges })));
const SimilarCalls = lazy(() => analysis().then((m) => ({ default: m.SimilarCalls })));
const CallSentiment = lazy(() => analysis().then((m) => ({ default: m.CallSentiment })));

function Part({ children }: { children: ReactNode }) {
  return <Suspense fallback={<p className="muted">Loading…</p>}>{children}</Suspense>;
}

type Load<T> = { state: "loading" } | { state: "error"; status: number; message: string } | { state: "ok"; data: T };

function failure(e: unknown): { state: "error"; status: number; message: string } {
  return e instanceof ApiError
    ? { state: "error", status: e.status, message: e.message }
    : { state: "error", status: 0, message: "Loading failed." };
}

export function CallDetailPage() {
  const { id = "" } = useParams();
  const valid = /^[1-9]\d{0,17}$/.test(id);
  const [call, setCall] = useState<Load<CallDetail>>({ state: "loading" });
  const [transcript, setTranscript] = useState<Load<TranscriptExport | null>>({ state: "loading" });
  // ?t=SECONDS (chat citations): the line to show, and where the audio starts once loaded.
  const [params] = useSearchParams();
  const linkMs = parseSeconds(params.get("t"));
  const audioRef = useRef<HTMLAudioElement>(null);
  const pendingSeek = useRef<number | null>(linkMs);
  const [timeMs, setTimeMs] = useState(linkMs ?? 0);
  const [audioReady, setAudioReady] = useState(false);

  const segs = useMemo(
    () => (transcript.state === "ok" && transcript.data ? normalizeSegments(transcript.data.segments) : []),
    [transcript],
  );
  const order = useMemo(() => sortedOrder(segs), [segs]);
  const durationMs = call.state === "ok" ? call.data.duration_ms : 0;
  const layout = useMemo(() => layoutTimeline(segs, durationMs), [segs, durationMs]);
  const analyses = call.state === "ok" ? call.data.analyses : null;
  const sorted = useMemo(() => sortAnalyses(analyses ?? []), [analyses]);
  // The category chosen among the chips (index into its matches) and the lines it covers.
  const [category, setCategory] = useState(-1);
  const spans = category >= 0 ? sorted.categories?.[category]?.spans : undefined;
  const hits = useMemo(() => linesInSpans(segs, spans ?? []), [segs, spans]);

  // Seeks the audio when it is loaded (and plays it when asked); before that the time is
  // kept and applied when the audio's metadata arrives.
  const seek = useCallback((ms: number, play: boolean) => {
    const a = audioRef.current;
    if (a && a.readyState >= 1) {
      a.currentTime = ms / 1000;
      if (play) void a.play().catch(() => undefined);
    } else {
      pendingSeek.current = ms;
    }
    setTimeMs(ms);
  }, []);
  // Another call: its recording is not loaded yet; then the link's time, if any.
  useEffect(() => {
    setAudioReady(false);
    pendingSeek.current = null;
    setTimeMs(0);
    setCategory(-1);
  }, [id]);
  useEffect(() => {
    if (linkMs != null) seek(linkMs, false);
  }, [id, linkMs, seek]);
  const onAudioReady = useCallback(() => {
    const a = audioRef.current;
    setAudioReady(true);
    if (a && pendingSeek.current != null) a.currentTime = pendingSeek.current / 1000;
    pendingSeek.current = null;
  }, []);

  useEffect(() => {
    if (!valid) return;
    const ac = new AbortController();
    setCall({ state: "loading" });
    setTranscript({ state: "loading" });
    apiJson<CallDetail>(`/api/v1/calls/${id}`, { signal: ac.signal })
      .then((data) => setCall({ state: "ok", data }))
      .catch((e: unknown) => !ac.signal.aborted && setCall(failure(e)));
    apiJson<TranscriptExport>(`/api/v1/calls/${id}/transcript`, { signal: ac.signal })
      .then((data) => setTranscript({ state: "ok", data }))
      .catch((e: unknown) => {
        if (ac.signal.aborted) return;
        // 404 for a call that exists means no transcript yet (the call's own 404 shows above).
        setTranscript(e instanceof ApiError && e.status === 404 ? { state: "ok", data: null } : failure(e));
      });
    return () => ac.abort();
  }, [id, valid]);

  if (!valid || (call.state === "error" && call.status === 404)) {
    return (
      <section>
        <h1>Call not found</h1>
        <p>
          <Link to="/calls">Back to calls</Link>
        </p>
      </section>
    );
  }
  if (call.state === "loading") return <p role="status">Loading call…</p>;
  if (call.state === "error") {
    return (
      <section>
        <h1>Call {id}</h1>
        <p role="alert" className="error">
          {call.message}
        </p>
      </section>
    );
  }
  const c = call.data;
  // Before the audio plays, a ?t= landing in a gap still shows the line just before it.
  const current = currentLine(segs, order, timeMs, !audioReady && linkMs != null);
  const linkLine = linkMs != null ? currentLine(segs, order, linkMs, true) : -1;
  return (
    <article className="detail" aria-labelledby="call-title">
      <p>
        <Link to="/calls">← Calls</Link>
      </p>
      <h1 id="call-title">
        Call {c.id} <StatusBadge status={c.status} />
      </h1>
      <CallToc />
      <Fields c={c} />
      <section aria-labelledby="h-summary">
        <h2 id="h-summary">Summary</h2>
        <Part>
          <CallSummary summary={sorted.summary} />
        </Part>
      </section>
      <section aria-labelledby="h-recording">
        <h2 id="h-recording">Recording</h2>
        <AudioPlayer callId={c.id} audioRef={audioRef} onTime={setTimeMs} onReady={onAudioReady} />
        {segs.length > 0 && <Timeline layout={layout} timeMs={timeMs} onSeek={(ms) => seek(ms, false)} />}
      </section>
      <section aria-labelledby="h-sentiment">
        <h2 id="h-sentiment">Sentiment</h2>
        <Part>
          <CallSentiment
            sentiment={sorted.sentiment}
            segs={segs}
            durationMs={Math.max(c.duration_ms, metricMs(c.metrics))}
            onSeek={(ms) => seek(ms, false)}
          />
        </Part>
      </section>
      <section aria-labelledby="h-categories">
        <h2 id="h-categories">Categories</h2>
        <Part>
          <CallCategories
            matches={sorted.categories}
            selected={category}
            hits={hits.size}
            onSelect={setCategory}
            onSeek={(ms) => seek(ms, false)}
          />
        </Part>
      </section>
      <TranscriptSection
        callId={c.id}
        load={transcript}
        segs={segs}
        current={current}
        hits={hits}
        scrollTo={linkLine}
        onLine={(ms) => seek(ms, true)}
        isPlaying={() => audioRef.current != null && !audioRef.current.paused}
      />
      <section aria-labelledby="h-qa">
        <h2 id="h-qa">Quality (QA)</h2>
        <Part>
          <CallQa qa={sorted.qa} fallbackScore={c.qa?.score ?? c.qa_score} />
        </Part>
      </section>
      <section aria-labelledby="h-figures">
        <h2 id="h-figures">Conversation figures</h2>
        <Part>
          <CallFigures metrics={c.metrics} />
        </Part>
      </section>
      <section aria-labelledby="h-agents">
        <h2 id="h-agents">Agent outputs</h2>
        <Part>
          <PiiNote pii={sorted.pii} />
        </Part>
        {sorted.others.length === 0 ? (
          <p className="muted">No LLM agent output for this call.</p>
        ) : (
          <Part>
            {sorted.others.map((a) => (
              <AgentOutput key={a.id} a={a} />
            ))}
          </Part>
        )}
      </section>
      <section aria-labelledby="h-escalations">
        <h2 id="h-escalations">Escalations</h2>
        {c.escalations.length === 0 ? (
          <p className="muted">No escalations.</p>
        ) : (
          <ul className="escalations">
            {c.escalations.map((e) => (
              <li key={e.id}>
                <strong>{e.severity}</strong> · {e.status} · {formatDateTime(e.created_at)}
                {e.resolved_at ? ` · resolved ${formatDateTime(e.resolved_at)}` : ""}
                <div>{e.reason}</div>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="h-coaching">
        <h2 id="h-coaching">Coaching nudges</h2>
        <Part>
          <CoachingNudges callId={c.id} />
        </Part>
      </section>
      <section aria-labelledby="h-similar">
        <h2 id="h-similar">Similar calls</h2>
        <Part>
          <SimilarCalls callId={c.id} />
        </Part>
      </section>
      <Notes callId={c.id} initial={c.notes} />
    </article>
  );
}

// The metrics' own duration (ms), 0 when absent.
function metricMs(m: Record<string, unknown> | null): number {
  const v = m?.duration_ms;
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}

const TOC: [string, string][] = [
  ["h-fields", "Details"],
  ["h-summary", "Summary"],
  ["h-recording", "Recording"],
  ["h-sentiment", "Sentiment"],
  ["h-categories", "Categories"],
  ["h-transcript", "Transcript"],
  ["h-qa", "QA"],
  ["h-figures", "Figures"],
  ["h-agents", "Agent outputs"],
  ["h-escalations", "Escalations"],
  ["h-coaching", "Coaching"],
  ["h-similar", "Similar calls"],
  ["h-notes", "Notes"],
];

// The page's sections; a link scrolls to its heading and moves the focus there (the URL, which
// carries ?t=, is left alone).
function CallToc() {
  return (
    <nav className="call-toc" aria-label="On this page" data-testid="call-toc">
      <ul>
        {TOC.map(([id, label]) => (
          <li key={id}>
            <a
              href={`#${id}`}
              onClick={(e) => {
                const h = document.getElementById(id);
                if (!h) return;
                e.preventDefault();
                h.setAttribute("tabindex", "-1");
                h.scrollIntoView({ block: "start" });
                h.focus({ preventScroll: true });
              }}
            >
              {label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Fields({ c }: { c: CallDetail }) {
  const rows: [string, string][] = [
    ["Started", formatDateTime(c.started_at)],
    ["Duration", formatDuration(c.duration_ms)],
    ["Agent", c.human_agent_id != null ? String(c.human_agent_id) : "—"],
    ["Customer", [c.customer_name, c.customer_phone].filter(Boolean).join(" · ") || "—"],
    ["Direction", c.direction],
    ["Category", c.issue_category || "—"],
    ["City", c.city || "—"],
    ["Language", c.language || "—"],
    ["Customer sentiment", formatNumber(c.customer_sentiment)],
    ["Agent talk ratio", formatNumber(c.agent_talk_ratio)],
    ["QA score", formatQaScore(c.qa?.score ?? c.qa_score)],
    ["External id", c.external_id || "—"],
    ["Attempts", String(c.attempts)],
    ["Status changed", formatDateTime(c.status_changed_at)],
  ];
  if (c.status === "failed") rows.push(["Failed", [c.failed_stage, c.failed_reason].filter(Boolean).join(": ") || "—"]);
  if (c.call_context) rows.push(["Context", c.call_context]);
  return (
    <section>
      <h2 id="h-fields">Details</h2>
      <dl className="fields">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      {c.metadata && Object.keys(c.metadata).length > 0 && (
        <details>
          <summary>Metadata</summary>
          <JsonView value={c.metadata} />
        </details>
      )}
    </section>
  );
}

export function TranscriptSection({
  callId,
  load,
  segs,
  current,
  hits,
  scrollTo,
  onLine,
  isPlaying = () => false,
}: {
  callId: number;
  load: Load<TranscriptExport | null>;
  segs: Segment[];
  current: number; // the line being played (-1: none)
  hits: Set<number>; // lines inside the chosen category's spans
  scrollTo: number; // the ?t= line, scrolled into view once (-1: none)
  onLine: (startMs: number) => void;
  isPlaying?: () => boolean; // the recording is playing: the list follows the played line
}) {
  const listRef = useRef<HTMLOListElement>(null);
  const [follow, setFollow] = useState(true);
  // While the recording plays, the line being played is kept in view (only when it has left
  // the view, so reading around it is not disturbed), unless "Follow playback" is off.
  useEffect(() => {
    if (!follow || current < 0 || !isPlaying()) return;
    const li = listRef.current?.children[current];
    if (!li || typeof li.getBoundingClientRect !== "function") return;
    const r = li.getBoundingClientRect();
    if ((r.top < 0 || r.bottom > window.innerHeight) && typeof li.scrollIntoView === "function")
      li.scrollIntoView({ block: "center", behavior: "smooth" });
  }, [current, follow]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (scrollTo < 0) return;
    const li = listRef.current?.children[scrollTo];
    if (li && typeof li.scrollIntoView === "function") li.scrollIntoView({ block: "center" });
  }, [scrollTo]);
  let body;
  if (load.state === "loading") body = <p role="status">Loading transcript…</p>;
  else if (load.state === "error")
    body = (
      <p role="alert" className="error">
        {load.message}
      </p>
    );
  else if (!load.data) body = <p className="muted">No transcript yet.</p>;
  else {
    body =
      segs.length === 0 ? (
        <p className="muted">The transcript is empty.</p>
      ) : (
        <ol className="transcript" ref={listRef}>
          {segs.map((s, i) => (
            <li
              key={i}
              data-testid="transcript-line"
              className={`speaker-${s.speaker === "agent" ? "agent" : "other"}${i === current ? " current" : ""}${hits.has(i) ? " category-hit" : ""}`}
              aria-current={i === current ? "true" : undefined}
              data-category-hit={hits.has(i) ? "true" : undefined}
              onClick={(e) => {
                // a selection of text is not a click to seek
                if (!window.getSelection()?.toString()) onLine(s.start_ms);
                e.stopPropagation();
              }}
            >
              <button
                type="button"
                className="link t-time"
                aria-label={`Play from ${mmss(s.start_ms)}`}
                onClick={(e) => {
                  e.stopPropagation();
                  onLine(s.start_ms);
                }}
              >
                {mmss(s.start_ms)}
              </button>
              <span className="t-speaker">{s.speaker || "?"}</span>
              <span className="t-text">{s.text}</span>
              {hits.has(i) && <span className="sr-only"> (in the chosen category)</span>}
            </li>
          ))}
        </ol>
      );
  }
  const t = load.state === "ok" ? load.data : null;
  const base = `call-${callId}-transcript`;
  return (
    <section>
      <div className="page-head">
        <h2 id="h-transcript">Transcript</h2>
        {t && segs.length > 0 && (
          <label className="follow small">
            <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} data-testid="follow-playback" /> Follow
            playback
          </label>
        )}
        {t && segs.length > 0 && (
          <span className="downloads" role="group" aria-label="Download transcript">
            <button type="button" className="secondary" onClick={() => downloadText(transcriptToTxt(segs), `${base}.txt`, "text/plain;charset=utf-8")}>
              Download TXT
            </button>
            <button type="button" className="secondary" onClick={() => downloadText(transcriptToSrt(segs), `${base}.srt`, "application/x-subrip;charset=utf-8")}>
              Download SRT
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => downloadText(transcriptToJson(callId, t.language, t.provider, segs), `${base}.json`, "application/json")}
            >
              Download JSON
            </button>
          </span>
        )}
      </div>
      {body}
    </section>
  );
}

function Notes({ callId, initial }: { callId: number; initial: Note[] }) {
  const { session } = useAuth();
  const [notes, setNotes] = useState<Note[]>(initial);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const writer = session ? canWriteNotes(session.role) : false;

  const reload = useCallback(async () => {
    const r = await apiJson<{ items: Note[] }>(`/api/v1/calls/${callId}/notes`);
    setNotes(r.items);
  }, [callId]);

  async function add(e: FormEvent) {
    e.preventDefault();
    if (text.trim() === "") {
      setError("Write a note first.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const n = await apiJson<Note>(`/api/v1/calls/${callId}/notes`, { method: "POST", json: { body: text } });
      setNotes((s) => [...s, n]);
      setText("");
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The note was not saved.");
    } finally {
      setBusy(false);
    }
  }

  async function remove(n: Note) {
    setError(null);
    try {
      await apiJson<void>(`/api/v1/calls/${callId}/notes/${n.id}`, { method: "DELETE" });
      setNotes((s) => s.filter((x) => x.id !== n.id));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The note was not deleted.");
      if (err instanceof ApiError && err.status === 404) void reload().catch(() => undefined);
    }
  }

  return (
    <section>
      <h2 id="h-notes">Notes</h2>
      {notes.length === 0 ? (
        <p className="muted">No notes yet.</p>
      ) : (
        <ul className="notes">
          {notes.map((n) => (
            <li key={n.id} data-testid="note">
              <div className="note-meta muted small">
                {formatDateTime(n.created_at)}
                {n.author_user_id != null ? ` · user ${n.author_user_id}` : ""}
              </div>
              <p className="note-body">{n.body}</p>
              {writer && (
                <button type="button" className="link" onClick={() => void remove(n)} aria-label={`Delete note of ${formatDateTime(n.created_at)}`}>
                  Delete
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {writer && (
        <form onSubmit={add} className="note-form">
          <label htmlFor="note-text">Note</label>
          <textarea id="note-text" rows={3} maxLength={10000} value={text} onChange={(e) => setText(e.target.value)} />
          <button type="submit" disabled={busy}>
            {busy ? "Adding…" : "Add note"}
          </button>
        </form>
      )}
    </section>
  );
}
