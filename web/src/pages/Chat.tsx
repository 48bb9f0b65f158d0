import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { apiFetch, apiJson, readError } from "../api/client";
import type { ChatAnswer, ChatCitation, ChatMessage, ChatSession, ChatSessionDetail, ChatSource, Page } from "../api/chat";
import { ApiError } from "../api/errors";
import { Empty, LoadError, Loading, Problems } from "../components/PageState";
import {
  applyChatEvent,
  buildChatBody,
  CALL_STATUSES,
  citationHref,
  citationLabel,
  EMPTY_FORM,
  errorText,
  finishStream,
  INCOMPLETE_NOTE,
  OFFLINE_NOTE,
  STREAM_START,
  type ChatForm,
  type StreamState,
} from "../lib/chat";
import { formatDateTime } from "../lib/format";
import { readSse, SseParser } from "../lib/sse";

const SESSIONS_PAGE = 50;

interface Pending {
  question: string;
  stream: StreamState;
}

export default function ChatPage() {
  const [params, setParams] = useSearchParams();
  const raw = params.get("session");
  const sessionId = raw && /^\d+$/.test(raw) && Number(raw) >= 1 ? Number(raw) : null;

  const [turns, setTurns] = useState<ChatMessage[]>([]);
  const [turnsState, setTurnsState] = useState<{ loading: boolean; error: string | null }>({ loading: false, error: null });
  const [pending, setPending] = useState<Pending | null>(null);
  const [form, setForm] = useState<ChatForm>(EMPTY_FORM);
  const [problems, setProblems] = useState<string[]>([]);
  const [sendError, setSendError] = useState<string | null>(null);
  const [sessionsKey, setSessionsKey] = useState(0);
  const ask = useRef<AbortController | null>(null);
  // The session this page just opened by asking: its turns are already on screen.
  const opened = useRef<number | null>(null);

  const loadTurns = useCallback(async (id: number, signal: AbortSignal) => {
    setTurnsState({ loading: true, error: null });
    try {
      const s = await apiJson<ChatSessionDetail>(`/api/v1/chat/sessions/${id}`, { signal });
      if (signal.aborted) return;
      setTurns(Array.isArray(s.messages) ? s.messages : []);
      setTurnsState({ loading: false, error: null });
    } catch (e) {
      if (signal.aborted) return;
      const msg = e instanceof ApiError && e.status === 404 ? "Chat not found." : e instanceof ApiError ? e.message : "Loading failed.";
      setTurnsState({ loading: false, error: msg });
    }
  }, []);

  const [reloadTurns, setReloadTurns] = useState(0);
  useEffect(() => {
    if (sessionId !== null && opened.current === sessionId) return;
    opened.current = null;
    ask.current?.abort();
    setPending(null);
    setTurns([]);
    setSendError(null);
    if (sessionId === null) {
      setTurnsState({ loading: false, error: null });
      return;
    }
    const ac = new AbortController();
    void loadTurns(sessionId, ac.signal);
    return () => ac.abort();
  }, [sessionId, loadTurns, reloadTurns]);

  useEffect(() => () => ask.current?.abort(), []);

  const onAsk = async (e: FormEvent) => {
    e.preventDefault();
    if (pending && !pending.stream.done) return;
    const built = buildChatBody(form, sessionId);
    setProblems(built.problems);
    setSendError(null);
    if (!built.body) return;
    const question = form.question;
    // An earlier answer that failed or was stopped stays in the conversation as it ended.
    if (pending) {
      const p = pending;
      setTurns((t) => [
        ...t,
        { id: -t.length - 1, role: "user", content: p.question },
        { id: -t.length - 2, role: "assistant", content: p.stream.text, citations: p.stream.answer?.citations ?? [] },
      ]);
    }
    ask.current?.abort();
    const ac = new AbortController();
    ask.current = ac;
    let state: StreamState = STREAM_START;
    setPending({ question, stream: state });
    const update = (s: StreamState) => {
      state = s;
      if (!ac.signal.aborted) setPending({ question, stream: s });
    };
    try {
      const res = await apiFetch("/api/v1/chat", { method: "POST", json: built.body, accept: "text/event-stream", signal: ac.signal });
      if (!res.ok) {
        const err = await readError(res);
        if (ac.signal.aborted) return;
        setPending(null);
        setSendError(errorText(res.status, err.message, res.headers.get("Retry-After")));
        return;
      }
      if ((res.headers.get("Content-Type") ?? "").includes("text/event-stream") && res.body) {
        const parser = new SseParser();
        await readSse(res.body, parser, (ev) => update(applyChatEvent(state, ev.event, ev.data)));
        update(finishStream(state));
      } else {
        update(applyChatEvent(state, "done", await res.text()));
      }
    } catch (err) {
      if (ac.signal.aborted) {
        update({ ...state, done: true, error: state.error ?? "Stopped." });
        return;
      }
      update({ ...state, done: true, error: err instanceof ApiError ? err.message : "The answer stopped: the connection failed." });
    }
    const a = state.answer;
    if (state.sessionId !== null) {
      if (a && !state.error) {
        setTurns((t) => [...t, { id: -a.message_id, role: "user", content: question }, answerMessage(a)]);
        setPending(null);
        setForm((f) => ({ ...f, question: "" }));
      }
      if (state.sessionId !== sessionId) {
        opened.current = state.sessionId;
        setParams({ session: String(state.sessionId) });
      }
      setSessionsKey((k) => k + 1);
    }
  };

  const streaming = pending !== null && !pending.stream.done;
  const set = (k: keyof ChatForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [k]: e.target.value }));

  return (
    <section className="chat">
      <h1>Chat</h1>
      <div className="chat-layout">
        <Sessions current={sessionId} refreshKey={sessionsKey} onNew={() => setParams({})} />
        <div className="chat-main">
          {turnsState.loading && <Loading what="the chat" />}
          {turnsState.error && <LoadError message={turnsState.error} onRetry={() => setReloadTurns((n) => n + 1)} />}
          {!turnsState.loading && !turnsState.error && turns.length === 0 && !pending && (
            <Empty>Ask a question about your calls and documents.</Empty>
          )}
          <ol className="turns" aria-label="Conversation">
            {turns.map((m, i) => (
              <li key={`${m.id}-${i}`} className={`turn turn-${m.role}`}>
                {m.role === "user" ? (
                  <Question text={m.content} />
                ) : (
                  <Answer text={m.content} citations={m.citations ?? []} sources={m.sources ?? []} incomplete={m.incomplete ?? null} offline={m.offline ?? null} />
                )}
              </li>
            ))}
            {pending && (
              <>
                <li className="turn turn-user">
                  <Question text={pending.question} />
                </li>
                <li className="turn turn-assistant" aria-busy={streaming}>
                  <Answer
                    text={pending.stream.text}
                    citations={pending.stream.answer?.citations ?? []}
                    sources={pending.stream.answer?.sources ?? []}
                    incomplete={pending.stream.answer?.incomplete ?? null}
                    offline={pending.stream.answer && !pending.stream.answer.llm ? pending.stream.answer.offline_reason : null}
                    streaming={streaming}
                  />
                  {pending.stream.error && (
                    <p role="alert" className="error">
                      {pending.stream.error}
                    </p>
                  )}
                </li>
              </>
            )}
          </ol>
          {sendError && (
            <div role="alert" className="error banner">
              {sendError}
            </div>
          )}
          {problems.length > 0 && <Problems intro="The question was not sent:" problems={problems} />}
          <form className="card chat-form" onSubmit={(e) => void onAsk(e)} noValidate>
            <label htmlFor="chat-question">Question</label>
            <textarea
              id="chat-question"
              rows={3}
              value={form.question}
              onChange={set("question")}
              onKeyDown={(e) => {
                if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
              }}
            />
            <fieldset className="chat-scope">
              <legend>Search</legend>
              {(
                [
                  ["all", "All calls and documents"],
                  ["call", "One call"],
                  ["knowledge", "Documents only"],
                ] as const
              ).map(([v, label]) => (
                <label key={v} className="inline">
                  <input type="radio" name="scope" value={v} checked={form.scope === v} onChange={set("scope")} /> {label}
                </label>
              ))}
              {form.scope === "call" && (
                <span className="field">
                  <label htmlFor="chat-call">Call id</label>
                  <input id="chat-call" inputMode="numeric" value={form.callId} onChange={set("callId")} />
                </span>
              )}
            </fieldset>
            {form.scope !== "knowledge" && (
              <details className="chat-filters">
                <summary>Filters</summary>
                <div className="filter-grid">
                  <span className="field">
                    <label htmlFor="chat-from">From (UTC date)</label>
                    <input id="chat-from" type="date" value={form.from} onChange={set("from")} />
                  </span>
                  <span className="field">
                    <label htmlFor="chat-to">To (UTC date, exclusive)</label>
                    <input id="chat-to" type="date" value={form.to} onChange={set("to")} />
                  </span>
                  <span className="field">
                    <label htmlFor="chat-agent">Agent id</label>
                    <input id="chat-agent" inputMode="numeric" value={form.agentId} onChange={set("agentId")} />
                  </span>
                  <span className="field">
                    <label htmlFor="chat-category">Category</label>
                    <input id="chat-category" maxLength={128} value={form.category} onChange={set("category")} />
                  </span>
                  <span className="field">
                    <label htmlFor="chat-status">Status</label>
                    <select id="chat-status" value={form.status} onChange={set("status")}>
                      <option value="">Any</option>
                      {CALL_STATUSES.map((s) => (
                        <option key={s} value={s}>
                          {s}
                        </option>
                      ))}
                    </select>
                  </span>
                </div>
              </details>
            )}
            <div className="actions">
              <button type="submit" disabled={streaming}>
                Ask
              </button>
              {streaming && (
                <button type="button" className="secondary" onClick={() => ask.current?.abort()}>
                  Stop
                </button>
              )}
              {sessionId !== null && <span className="muted small">Continues this chat; “New chat” starts another.</span>}
            </div>
          </form>
        </div>
      </div>
    </section>
  );
}

function answerMessage(a: ChatAnswer): ChatMessage {
  return {
    id: a.message_id,
    role: "assistant",
    content: a.answer,
    citations: a.citations,
    sources: a.sources,
    model: a.model,
    incomplete: a.incomplete,
    offline: a.llm ? null : a.offline_reason,
  };
}

function Question({ text }: { text: string }) {
  return (
    <div className="bubble question">
      <span className="sr-only">You asked: </span>
      <p className="pre">{text}</p>
    </div>
  );
}

export function Answer({
  text,
  citations,
  sources,
  incomplete,
  offline = null,
  streaming = false,
}: {
  text: string;
  citations: ChatCitation[];
  sources: ChatSource[];
  incomplete: keyof typeof INCOMPLETE_NOTE | null;
  offline?: keyof typeof OFFLINE_NOTE | null;
  streaming?: boolean;
}) {
  const withText = sources.filter((s) => typeof s.text === "string" && s.text !== "");
  return (
    <div className="bubble answer">
      <span className="sr-only">Answer: </span>
      {offline && <p className="note">{OFFLINE_NOTE[offline]}</p>}
      <p className="pre" data-testid="chat-answer" aria-live={streaming ? "polite" : undefined}>
        {text}
        {streaming && text === "" && <span className="muted">Thinking…</span>}
      </p>
      {incomplete && <p className="note">{INCOMPLETE_NOTE[incomplete]}</p>}
      {citations.length > 0 && (
        <>
          <h2 className="small">Citations</h2>
          <ol className="citations">
            {citations.map((c) => {
              const href = citationHref(c);
              return (
                <li key={c.n} value={c.n} data-testid="citation">
                  {href ? <Link to={href}>{citationLabel(c)}</Link> : <span>{citationLabel(c)}</span>}
                </li>
              );
            })}
          </ol>
        </>
      )}
      {withText.length > 0 && (
        <details>
          <summary>Sources ({withText.length})</summary>
          <ol className="sources">
            {withText.map((s) => (
              <li key={s.n} value={s.n}>
                <strong>{citationLabel(s)}</strong>
                {s.speaker ? <span className="muted"> ({s.speaker})</span> : null}
                <p className="pre">{s.text}</p>
              </li>
            ))}
          </ol>
        </details>
      )}
    </div>
  );
}

function Sessions({ current, refreshKey, onNew }: { current: number | null; refreshKey: number; onNew: () => void }) {
  const [items, setItems] = useState<ChatSession[]>([]);
  const [next, setNext] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [retry, setRetry] = useState(0);

  const load = useCallback(async (before: number | null, signal?: AbortSignal) => {
    setLoading(true);
    setError(null);
    const q = new URLSearchParams({ limit: String(SESSIONS_PAGE) });
    if (before !== null) q.set("before", String(before));
    try {
      const p = await apiJson<Page<ChatSession>>(`/api/v1/chat/sessions?${q.toString()}`, { signal });
      if (signal?.aborted) return;
      setItems((s) => (before === null ? p.items : s.concat(p.items)));
      setNext(p.next_before ?? null);
    } catch (e) {
      if (signal?.aborted) return;
      setError(e instanceof ApiError ? e.message : "Loading failed.");
    }
    setLoading(false);
  }, []);

  useEffect(() => {
    const ac = new AbortController();
    void load(null, ac.signal);
    return () => ac.abort();
  }, [load, refreshKey, retry]);

  return (
    <nav className="chat-sessions card" aria-label="Previous chats">
      <h2 className="small">Chats</h2>
      <button type="button" className="secondary" onClick={onNew} disabled={current === null}>
        New chat
      </button>
      {error && <LoadError message={error} onRetry={() => setRetry((n) => n + 1)} />}
      {!loading && !error && items.length === 0 && <p className="muted small">No chats yet.</p>}
      <ul>
        {items.map((s) => (
          <li key={s.id}>
            <Link to={`/chat?session=${s.id}`} aria-current={s.id === current ? "page" : undefined} data-testid="chat-session">
              {s.title || `Chat ${s.id}`}
            </Link>
            <span className="muted small"> {formatDateTime(s.updated_at)}</span>
          </li>
        ))}
      </ul>
      {loading && <Loading what="chats" />}
      {!loading && next !== null && (
        <button type="button" className="secondary" onClick={() => void load(next)}>
          More chats
        </button>
      )}
    </nav>
  );
}
