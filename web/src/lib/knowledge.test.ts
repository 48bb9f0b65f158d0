import { describe, expect, it } from "vitest";
import type { KnowledgeDocument } from "../api/chat";
import {
  applyKnowledgeChange,
  buildCreateBody,
  buildEditBody,
  canWriteKnowledge,
  formatBytes,
  parseKnowledgeEvent,
  upsertDocument,
  EARLY_CHANGES_MAX,
  keepEarlyChange,
  upsertWithEarly,
  type KnowledgeChange,
} from "./knowledge";

const doc = (id: number, over: Partial<KnowledgeDocument> = {}): KnowledgeDocument => ({
  id,
  title: `Doc ${id}`,
  content_type: "text/plain",
  status: "pending",
  reason: null,
  version: 2,
  chunk_count: 0,
  created_at: "2026-12-01T10:00:00Z",
  updated_at: "2026-12-01T10:00:00Z",
  ...over,
});
const ev = (type: string, data: object) => JSON.stringify({ id: "1-0", type, bid: "acme", at: 1, data });

describe("canWriteKnowledge", () => {
  it("lets admins and analysts write, not viewers", () => {
    expect(canWriteKnowledge("admin")).toBe(true);
    expect(canWriteKnowledge("analyst")).toBe(true);
    expect(canWriteKnowledge("platform_admin")).toBe(true);
    expect(canWriteKnowledge("viewer")).toBe(false);
  });
});

describe("request bodies", () => {
  it("creates with a trimmed title, the text as typed and its format", () => {
    expect(buildCreateBody({ title: "  Refunds ", text: "# Refunds\nFive days.", contentType: "text/markdown" })).toEqual({
      body: { title: "Refunds", text: "# Refunds\nFive days.", content_type: "text/markdown" },
      problems: [],
    });
  });
  it("refuses an empty title or text and a title over 512 characters", () => {
    expect(buildCreateBody({ title: " ", text: "  ", contentType: "text/plain" })).toEqual({
      body: null,
      problems: ["Title: required.", "Text: required."],
    });
    expect(buildCreateBody({ title: "é".repeat(513), text: "x", contentType: "text/plain" }).problems).toEqual([
      "Title: at most 512 characters.",
    ]);
    expect(buildCreateBody({ title: "é".repeat(512), text: "x", contentType: "text/plain" }).problems).toEqual([]);
  });
  it("edits send only what changed", () => {
    const was = { title: "Refunds", text: "Five days." };
    expect(buildEditBody({ title: "Refund policy", text: "Five days.", contentType: "text/plain" }, was).body).toEqual({
      title: "Refund policy",
    });
    expect(buildEditBody({ title: "Refunds", text: "Three days.", contentType: "text/plain" }, was).body).toEqual({
      text: "Three days.",
      content_type: "text/plain",
    });
    expect(buildEditBody({ title: "Refunds ", text: "Five days.", contentType: "text/html" }, was)).toEqual({
      body: null,
      problems: ["Nothing changed."],
    });
    expect(buildEditBody({ title: "", text: " ", contentType: "text/plain" }, was).problems).toEqual([
      "Title: required.",
      "Text: required.",
    ]);
  });
});

describe("live events", () => {
  it("reads knowledge.status and knowledge.deleted as in docs/api.md", () => {
    expect(parseKnowledgeEvent("knowledge.status", ev("knowledge.status", { document_id: 7, status: "ready", version: 2 }))).toEqual({
      kind: "status",
      id: 7,
      status: "ready",
      version: 2,
      reason: null,
    });
    expect(
      parseKnowledgeEvent("knowledge.status", ev("knowledge.status", { document_id: 7, status: "failed", version: 2, reason: "no text" })),
    ).toMatchObject({ status: "failed", reason: "no text" });
    expect(parseKnowledgeEvent("knowledge.deleted", ev("knowledge.deleted", { document_id: 7 }))).toEqual({ kind: "deleted", id: 7 });
  });
  it("ignores other types and malformed data", () => {
    expect(parseKnowledgeEvent("call.status", ev("call.status", { call_id: 1, status: "analyzed" }))).toBeUndefined();
    expect(parseKnowledgeEvent("knowledge.status", "not json")).toBeUndefined();
    expect(parseKnowledgeEvent("knowledge.status", ev("knowledge.status", { document_id: "7", status: "ready" }))).toBeUndefined();
    expect(parseKnowledgeEvent("knowledge.status", ev("knowledge.status", { document_id: 7, status: "bogus" }))).toBeUndefined();
    expect(parseKnowledgeEvent("knowledge.deleted", "null")).toBeUndefined();
  });
  it("applies a status to the loaded document, the failure reason with it", () => {
    const docs = [doc(1), doc(2)];
    const ready = applyKnowledgeChange(docs, { kind: "status", id: 2, status: "ready", version: 2, reason: null });
    expect(ready[1]).toMatchObject({ id: 2, status: "ready", reason: null });
    expect(ready[0]).toBe(docs[0]);
    const failed = applyKnowledgeChange(ready, { kind: "status", id: 2, status: "failed", version: 3, reason: "embedder refused" });
    expect(failed[1]).toMatchObject({ status: "failed", reason: "embedder refused", version: 3 });
    // back to ready clears the reason
    expect(applyKnowledgeChange(failed, { kind: "status", id: 2, status: "ready", version: 3, reason: "x" })[1]?.reason).toBeNull();
  });
  it("keeps the same array for stale versions, unknown documents and no change", () => {
    const docs = [doc(1, { status: "ready" })];
    expect(applyKnowledgeChange(docs, { kind: "status", id: 1, status: "failed", version: 1, reason: "old" })).toBe(docs);
    expect(applyKnowledgeChange(docs, { kind: "status", id: 9, status: "failed", version: 2, reason: null })).toBe(docs);
    expect(applyKnowledgeChange(docs, { kind: "status", id: 1, status: "ready", version: 2, reason: null })).toBe(docs);
    expect(applyKnowledgeChange(docs, { kind: "deleted", id: 9 })).toBe(docs);
  });
  it("removes a deleted document", () => {
    expect(applyKnowledgeChange([doc(1), doc(2), doc(3)], { kind: "deleted", id: 2 }).map((d) => d.id)).toEqual([1, 3]);
  });
});

describe("upsertDocument and formatBytes", () => {
  it("puts a new document first and replaces a saved one in place", () => {
    expect(upsertDocument([doc(1), doc(2)], doc(3)).map((d) => d.id)).toEqual([3, 1, 2]);
    const r = upsertDocument([doc(1), doc(2)], doc(2, { title: "New" }));
    expect(r.map((d) => d.title)).toEqual(["Doc 1", "New"]);
  });
  it("formats sizes", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(10 * 1024 * 1024)).toBe("10.0 MB");
    expect(formatBytes(undefined)).toBe("—");
  });
});

describe("changes that arrive before their document", () => {
  const doc = (id: number, status: "pending" | "ready" | "failed", version = 1) =>
    ({ id, title: `d${id}`, status, version, reason: null }) as unknown as KnowledgeDocument;
  it("keeps a change of an unknown document and applies it when the saved document is added", () => {
    const early = new Map<number, KnowledgeChange>();
    const ready: KnowledgeChange = { kind: "status", id: 7, status: "ready", version: 1, reason: null };
    keepEarlyChange(early, [doc(1, "ready")], ready);
    expect(early.size).toBe(1);
    const docs = upsertWithEarly([doc(1, "ready")], doc(7, "pending"), early);
    expect(docs.map((d) => [d.id, d.status])).toEqual([
      [7, "ready"],
      [1, "ready"],
    ]);
    expect(early.size).toBe(0);
  });
  it("does not keep changes of loaded documents, and ignores a stale version", () => {
    const early = new Map<number, KnowledgeChange>();
    keepEarlyChange(early, [doc(1, "pending")], { kind: "status", id: 1, status: "ready", version: 1, reason: null });
    expect(early.size).toBe(0);
    keepEarlyChange(early, [], { kind: "status", id: 9, status: "ready", version: 1, reason: null });
    expect(upsertWithEarly([], doc(9, "pending", 2), early)[0]!.status).toBe("pending");
  });
  it("a document deleted before its save was answered is not added", () => {
    const early = new Map<number, KnowledgeChange>();
    keepEarlyChange(early, [], { kind: "deleted", id: 4 });
    expect(upsertWithEarly([], doc(4, "pending"), early)).toEqual([]);
  });
  it("is bounded", () => {
    const early = new Map<number, KnowledgeChange>();
    for (let i = 1; i <= EARLY_CHANGES_MAX + 5; i++)
      keepEarlyChange(early, [], { kind: "status", id: i, status: "ready", version: 1, reason: null });
    expect(early.size).toBe(EARLY_CHANGES_MAX);
    expect(early.has(1)).toBe(false);
  });
});
