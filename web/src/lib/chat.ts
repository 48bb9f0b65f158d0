// Chat page logic: the request body from the form, citation links and labels, and the
// streamed answer assembled from server-sent events (docs/api.md "Chat").
import type { ChatAnswer, ChatCitation, Incomplete, OfflineReason } from "../api/chat";

export type Scope = "all" | "call" | "knowledge";
export const CALL_STATUSES = ["pending", "transcribing", "transcribed", "analyzing", "analyzed", "notified", "failed"];

export interface ChatForm {
  question: string;
  scope: Scope;
  callId: string;
  from: string; // YYYY-MM-DD (UTC date) or ""
  to: string;
  agentId: string;
  category: string;
  status: string;
}

export const EMPTY_FORM: ChatForm = {
  question: "",
  scope: "all",
  callId: "",
  from: "",
  to: "",
  agentId: "",
  category: "",
  status: "",
};

export interface ChatBody {
  question: string;
  session_id?: number;
  scope: Scope;
  call_id?: number;
  filters?: { from?: string; to?: string; agent_id?: number; category?: string; status?: string };
}

const utf8 = new TextEncoder();
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function positiveInt(s: string): number | null {
  const t = s.trim();
  if (!/^\d+$/.test(t)) return null;
  const n = Number(t);
  return Number.isSafeInteger(n) && n >= 1 ? n : null;
}

// The POST /api/v1/chat body, or the problems that keep it from being sent (the API's own
// rules: question 1..4000 bytes and not only whitespace; call_id only with scope call;
// no filters with scope knowledge).
export function buildChatBody(
  f: ChatForm,
  sessionId: number | null,
): { body: ChatBody; problems: [] } | { body: null; problems: string[] } {
  const problems: string[] = [];
  const bytes = utf8.encode(f.question).length;
  if (f.question.trim() === "") problems.push("Question: write a question.");
  else if (bytes > 4000) problems.push(`Question: at most 4000 bytes (this one is ${bytes}).`);
  const body: ChatBody = { question: f.question, scope: f.scope };
  if (sessionId !== null) body.session_id = sessionId;
  if (f.scope === "call") {
    const id = positiveInt(f.callId);
    if (id === null) problems.push("Call id: a positive whole number is needed for one call.");
    else body.call_id = id;
  }
  if (f.scope !== "knowledge") {
    const filters: NonNullable<ChatBody["filters"]> = {};
    for (const [key, label] of [
      ["from", "From"],
      ["to", "To"],
    ] as const) {
      const v = f[key].trim();
      if (v === "") continue;
      if (!DATE.test(v) || Number.isNaN(Date.parse(v + "T00:00:00Z"))) problems.push(`${label}: not a date (YYYY-MM-DD).`);
      else filters[key] = v;
    }
    if (filters.from && filters.to && filters.from >= filters.to) problems.push("To: must be after From.");
    if (f.agentId.trim() !== "") {
      const a = positiveInt(f.agentId);
      if (a === null) problems.push("Agent id: a positive whole number.");
      else filters.agent_id = a;
    }
    const cat = f.category.trim();
    if (cat !== "") {
      if (cat.length > 128) problems.push("Category: at most 128 characters.");
      else filters.category = cat;
    }
    if (f.status !== "") {
      if (!CALL_STATUSES.includes(f.status)) problems.push(`Status: unknown value "${f.status}".`);
      else filters.status = f.status;
    }
    if (Object.keys(filters).length > 0) body.filters = filters;
  }
  return problems.length > 0 ? { body: null, problems } : { body, problems: [] };
}

// A call citation links to the call at the cited moment (whole seconds); a document
// citation has no page of its own.
export function citationHref(c: ChatCitation): string | null {
  if (c.kind !== "call" || c.call_id === null || !Number.isSafeInteger(c.call_id)) return null;
  const ms = c.start_ms ?? c.chunk_start_ms;
  const base = `/calls/${c.call_id}`;
  return ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0 ? base : `${base}?t=${Math.floor(ms / 1000)}`;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function citationLabel(c: ChatCitation): string {
  if (c.kind === "call") {
    const ms = c.start_ms ?? c.chunk_start_ms;
    return `Call ${c.call_id ?? "?"}` + (ms !== null && ms >= 0 ? ` at ${clock(ms)}` : "");
  }
  const title = c.title && c.title !== "" ? c.title : `Document ${c.document_id ?? "?"}`;
  return c.chunk_index !== null ? `${title}, part ${c.chunk_index + 1}` : title;
}

export const OFFLINE_NOTE: Record<OfflineReason, string> = {
  no_llm: "No language model is configured for this business: the answer is the best matching passages.",
  budget_spent: "Today's language-model budget is spent: the answer is the best matching passages.",
  llm_failed: "The language model could not answer: the answer is the best matching passages.",
  no_sources: "Nothing in the calls or documents matched the question.",
};

export const INCOMPLETE_NOTE: Record<Incomplete, string> = {
  client_gone: "The answer was cut short: the page went away before it finished.",
  timeout: "The answer was cut short: it took too long.",
  llm_failed: "The answer was cut short: the language model failed in the middle of it.",
};

// The streamed answer as it arrives: `session`, `token` pieces, then `done` (the whole JSON
// answer, which replaces the pieces) or `error`.
export interface StreamState {
  sessionId: number | null;
  text: string;
  answer: ChatAnswer | null;
  error: string | null;
  done: boolean;
}

export const STREAM_START: StreamState = { sessionId: null, text: "", answer: null, error: null, done: false };

function parse(data: string): Record<string, unknown> | null {
  try {
    const j: unknown = JSON.parse(data);
    return j && typeof j === "object" && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function applyChatEvent(s: StreamState, type: string, data: string): StreamState {
  if (s.done) return s;
  const j = parse(data);
  switch (type) {
    case "session": {
      const id = j?.session_id;
      return typeof id === "number" && Number.isSafeInteger(id) ? { ...s, sessionId: id } : s;
    }
    case "token": {
      const t = j?.text;
      return typeof t === "string" ? { ...s, text: s.text + t } : s;
    }
    case "done": {
      if (!j || typeof j.answer !== "string") return { ...s, done: true, error: "The server's answer was not understood." };
      const a = j as unknown as ChatAnswer;
      const answer: ChatAnswer = {
        ...a,
        citations: Array.isArray(a.citations) ? a.citations : [],
        sources: Array.isArray(a.sources) ? a.sources : [],
      };
      return {
        ...s,
        sessionId: typeof a.session_id === "number" ? a.session_id : s.sessionId,
        text: a.answer,
        answer,
        done: true,
      };
    }
    case "error": {
      const e = j?.error as { message?: unknown } | undefined;
      const msg = e && typeof e.message === "string" && e.message !== "" ? e.message : "The answer failed.";
      return { ...s, done: true, error: msg };
    }
    default:
      return s;
  }
}

// A stream that ended without `done` or `error`.
export function finishStream(s: StreamState): StreamState {
  return s.done ? s : { ...s, done: true, error: "The answer stopped before it was complete." };
}

// An error's message, with a 429's Retry-After made readable.
export function errorText(status: number, message: string, retryAfter: string | null): string {
  if (status !== 429) return message;
  const n = Number(retryAfter);
  return Number.isFinite(n) && n > 0 ? `${message} Try again in ${Math.ceil(n)} s.` : message;
}
