import { describe, expect, it } from "vitest";
import type { ChatCitation } from "../api/chat";
import {
  applyChatEvent,
  buildChatBody,
  citationHref,
  citationLabel,
  EMPTY_FORM,
  errorText,
  finishStream,
  STREAM_START,
  type StreamState,
} from "./chat";

const callCite: ChatCitation = {
  n: 1,
  kind: "call",
  call_id: 42,
  start_ms: 83_900,
  chunk_start_ms: 61_000,
  chunk_end_ms: 112_000,
  document_id: null,
  title: null,
  chunk_index: null,
};
const docCite: ChatCitation = {
  n: 2,
  kind: "knowledge",
  call_id: null,
  start_ms: null,
  chunk_start_ms: null,
  chunk_end_ms: null,
  document_id: 7,
  title: "Refund policy",
  chunk_index: 2,
};

describe("buildChatBody", () => {
  it("sends the question with scope all and no filters by default", () => {
    expect(buildChatBody({ ...EMPTY_FORM, question: "Why refunds?" }, null)).toEqual({
      body: { question: "Why refunds?", scope: "all" },
      problems: [],
    });
  });
  it("continues a session and passes the filters with the API's names", () => {
    const r = buildChatBody(
      { ...EMPTY_FORM, question: "q", from: "2026-11-01", to: "2026-12-01", agentId: " 4 ", category: " billing ", status: "analyzed" },
      12,
    );
    expect(r.body).toEqual({
      question: "q",
      scope: "all",
      session_id: 12,
      filters: { from: "2026-11-01", to: "2026-12-01", agent_id: 4, category: "billing", status: "analyzed" },
    });
  });
  it("scope call needs a call id; scope knowledge drops the call filters", () => {
    expect(buildChatBody({ ...EMPTY_FORM, question: "q", scope: "call", callId: "42" }, null).body).toEqual({
      question: "q",
      scope: "call",
      call_id: 42,
    });
    expect(buildChatBody({ ...EMPTY_FORM, question: "q", scope: "call", callId: "" }, null).problems).toEqual([
      "Call id: a positive whole number is needed for one call.",
    ]);
    // a call id typed before switching scope is not sent (the API refuses call_id without scope call)
    expect(
      buildChatBody({ ...EMPTY_FORM, question: "q", scope: "knowledge", callId: "42", agentId: "4", from: "2026-11-01" }, null).body,
    ).toEqual({ question: "q", scope: "knowledge" });
    expect(buildChatBody({ ...EMPTY_FORM, question: "q", callId: "42" }, null).body).toEqual({ question: "q", scope: "all" });
  });
  it("reports every invalid field and sends nothing", () => {
    const r = buildChatBody(
      { ...EMPTY_FORM, question: "   ", scope: "call", callId: "0", from: "2026-13-45x", agentId: "-1", status: "bogus" },
      null,
    );
    expect(r.body).toBeNull();
    expect(r.problems).toEqual([
      "Question: write a question.",
      "Call id: a positive whole number is needed for one call.",
      "From: not a date (YYYY-MM-DD).",
      "Agent id: a positive whole number.",
      'Status: unknown value "bogus".',
    ]);
    expect(buildChatBody({ ...EMPTY_FORM, question: "q", from: "2026-12-01", to: "2026-11-01" }, null).problems).toEqual([
      "To: must be after From.",
    ]);
    expect(buildChatBody({ ...EMPTY_FORM, question: "q", category: "x".repeat(129) }, null).problems).toHaveLength(1);
  });
  it("counts the question's limit in UTF-8 bytes", () => {
    expect(buildChatBody({ ...EMPTY_FORM, question: "é".repeat(2000) }, null).problems).toEqual([]);
    expect(buildChatBody({ ...EMPTY_FORM, question: "é".repeat(2001) }, null).problems).toEqual([
      "Question: at most 4000 bytes (this one is 4002).",
    ]);
  });
});

describe("citations", () => {
  it("links a call citation at the cited second", () => {
    expect(citationHref(callCite)).toBe("/calls/42?t=83");
    expect(citationHref({ ...callCite, start_ms: null })).toBe("/calls/42?t=61");
    expect(citationHref({ ...callCite, start_ms: null, chunk_start_ms: null })).toBe("/calls/42");
    expect(citationLabel(callCite)).toBe("Call 42 at 1:23");
    expect(citationLabel({ ...callCite, start_ms: 3_723_000 })).toBe("Call 42 at 1:02:03");
  });
  it("names a document and its part, with no link", () => {
    expect(citationHref(docCite)).toBeNull();
    expect(citationLabel(docCite)).toBe("Refund policy, part 3");
    expect(citationLabel({ ...docCite, title: null, chunk_index: null })).toBe("Document 7");
  });
});

const answer = {
  session_id: 12,
  message_id: 31,
  answer: "Charged twice [1].",
  citations: [callCite],
  sources: [],
  model: null,
  latency_ms: 5,
  llm: false,
  offline_reason: "no_llm",
  incomplete: null,
};

describe("stream assembly", () => {
  const run = (events: [string, string][]): StreamState => events.reduce((s, [t, d]) => applyChatEvent(s, t, d), STREAM_START);
  it("collects the session and the token pieces as they come, then the whole answer", () => {
    let s = applyChatEvent(STREAM_START, "session", '{"session_id":12}');
    expect(s.sessionId).toBe(12);
    s = applyChatEvent(s, "token", '{"text":"Charged "}');
    s = applyChatEvent(s, "token", '{"text":"twice"}');
    expect(s).toMatchObject({ text: "Charged twice", done: false, answer: null });
    s = applyChatEvent(s, "done", JSON.stringify(answer));
    expect(s).toMatchObject({ text: "Charged twice [1].", done: true, error: null, sessionId: 12 });
    expect(s.answer?.citations).toEqual([callCite]);
    // nothing after done changes it
    expect(applyChatEvent(s, "token", '{"text":"more"}')).toBe(s);
  });
  it("keeps the pieces shown and the server's message on error", () => {
    const s = run([
      ["session", '{"session_id":3}'],
      ["token", '{"text":"Part"}'],
      ["error", '{"error":{"code":"unavailable","message":"The model failed."}}'],
    ]);
    expect(s).toMatchObject({ sessionId: 3, text: "Part", done: true, error: "The model failed." });
  });
  it("ignores malformed and unknown events; a stream ending early is an error", () => {
    const s = run([
      ["token", "not json"],
      ["token", '{"text":5}'],
      ["session", '{"session_id":"x"}'],
      ["message", '{"text":"x"}'],
    ]);
    expect(s).toEqual(STREAM_START);
    expect(finishStream(s)).toMatchObject({ done: true, error: "The answer stopped before it was complete." });
    expect(applyChatEvent(STREAM_START, "done", "{}")).toMatchObject({ done: true, error: "The server's answer was not understood." });
  });
});

describe("errorText", () => {
  it("adds Retry-After to a 429 only", () => {
    expect(errorText(429, "Too many questions.", "7")).toBe("Too many questions. Try again in 7 s.");
    expect(errorText(429, "Too many questions.", null)).toBe("Too many questions.");
    expect(errorText(400, "scope: unknown value", "7")).toBe("scope: unknown value");
  });
});
