// The Chat answer and the Knowledge list rendered to HTML (no DOM): selectors, citation
// links, notes, write controls by role, tenant markup as text.
import { createElement, type ReactElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { StaticRouter } from "react-router-dom/server";
import { describe, expect, it } from "vitest";
import type { ChatCitation, KnowledgeDocument } from "../api/chat";
import { Answer } from "./Chat";
import { DocumentList } from "./Knowledge";

const html = (el: ReactElement) => renderToStaticMarkup(createElement(StaticRouter, { location: "/chat" }, el));
const count = (s: string, needle: string) => s.split(needle).length - 1;
const evil = '<img src=x onerror="alert(1)">';

const cites: ChatCitation[] = [
  { n: 1, kind: "call", call_id: 42, start_ms: 83_000, chunk_start_ms: 61_000, chunk_end_ms: 112_000, document_id: null, title: null, chunk_index: null },
  { n: 2, kind: "knowledge", call_id: null, start_ms: null, chunk_start_ms: null, chunk_end_ms: null, document_id: 7, title: evil, chunk_index: 0 },
];

describe("Chat answer", () => {
  it("numbers the citations, links calls at the second and names documents", () => {
    const h = html(createElement(Answer, { text: `Charged twice [1] ${evil} [2].`, citations: cites, sources: [], incomplete: null }));
    expect(count(h, 'data-testid="chat-answer"')).toBe(1);
    expect(count(h, 'data-testid="citation"')).toBe(2);
    expect(h).toContain('href="/calls/42?t=83"');
    expect(h).toContain(">Call 42 at 1:23<");
    expect(h).toContain('value="2"');
    expect(h).not.toContain("<img");
    expect(h).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;, part 1");
  });
  it("says when the answer is extractive or cut short, and shows sources as text", () => {
    const h = html(
      createElement(Answer, {
        text: "x",
        citations: [],
        sources: [{ ...cites[0]!, text: `${evil} refund`, speaker: "customer" }],
        incomplete: "timeout",
        offline: "no_llm",
      }),
    );
    expect(h).toContain("No language model is configured");
    expect(h).toContain("it took too long");
    expect(h).toContain("Sources (1)");
    expect(h).toContain("&lt;img src=x");
    expect(h).not.toContain("<img");
  });
});

const doc = (id: number, over: Partial<KnowledgeDocument> = {}): KnowledgeDocument => ({
  id,
  title: `Doc ${id}`,
  content_type: "text/plain",
  status: "ready",
  reason: null,
  version: 1,
  chunk_count: 3,
  size_bytes: 2048,
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  ...over,
});

describe("Knowledge list", () => {
  const noop = () => undefined;
  const docs = [doc(1, { title: evil }), doc(2, { status: "failed", reason: "embedding failed after 5 attempts: timeout" })];
  it("lists each document with its status and a failure's reason", () => {
    const h = html(createElement(DocumentList, { docs, canWrite: true, onSaved: noop, onRemoved: noop, empty: false, filtered: false }));
    expect(count(h, 'data-testid="document-row"')).toBe(2);
    expect(h).toContain('data-document-id="2"');
    expect(h).toContain("badge-failed");
    expect(h).toContain("embedding failed after 5 attempts: timeout");
    expect(count(h, ">Edit<")).toBe(2);
    expect(count(h, ">Delete<")).toBe(2);
    expect(h).not.toContain("<img");
  });
  it("hides the write controls from viewers", () => {
    const h = html(createElement(DocumentList, { docs, canWrite: false, onSaved: noop, onRemoved: noop, empty: false, filtered: false }));
    expect(count(h, 'data-testid="document-row"')).toBe(2);
    expect(h).not.toContain("Edit");
    expect(h).not.toContain("Delete");
  });
  it("has an empty state", () => {
    const h = html(createElement(DocumentList, { docs: [], canWrite: true, onSaved: noop, onRemoved: noop, empty: true, filtered: false }));
    expect(h).toContain("No documents yet.");
  });
});
