// Knowledge page logic: who may write, request bodies from the forms, and the live events
// knowledge.status / knowledge.deleted applied to the loaded documents (docs/api.md
// "Knowledge base", "Live events").
import type { KnowledgeDocument, KnowledgeStatus } from "../api/chat";
import type { Role } from "../api/types";

export const CONTENT_TYPES = ["text/plain", "text/markdown", "text/html"] as const;
export type TextContentType = (typeof CONTENT_TYPES)[number];
export const MAX_TITLE = 512;

// Admins and analysts write (platform admins act as admins); viewers read.
export function canWriteKnowledge(role: Role): boolean {
  return role === "admin" || role === "analyst" || role === "platform_admin";
}

export interface DocForm {
  title: string;
  text: string;
  contentType: TextContentType;
}

export interface DocBody {
  title?: string;
  text?: string;
  content_type?: TextContentType;
}

type Built = { body: DocBody; problems: [] } | { body: null; problems: string[] };

function titleProblem(t: string): string | null {
  if (t === "") return "Title: required.";
  if ([...t].length > MAX_TITLE) return `Title: at most ${MAX_TITLE} characters.`;
  return null;
}

// POST /api/v1/knowledge: title and text both required.
export function buildCreateBody(f: DocForm): Built {
  const problems: string[] = [];
  const title = f.title.trim();
  const tp = titleProblem(title);
  if (tp) problems.push(tp);
  if (f.text.trim() === "") problems.push("Text: required.");
  if (problems.length > 0) return { body: null, problems };
  return { body: { title, text: f.text, content_type: f.contentType }, problems: [] };
}

// PUT /api/v1/knowledge/{id}: only what changed (a title alone keeps the version and its
// chunks; new text is a new version).
export function buildEditBody(f: DocForm, was: { title: string; text: string }): Built {
  const problems: string[] = [];
  const body: DocBody = {};
  const title = f.title.trim();
  if (title !== was.title) {
    const tp = titleProblem(title);
    if (tp) problems.push(tp);
    else body.title = title;
  }
  if (f.text !== was.text) {
    if (f.text.trim() === "") problems.push("Text: required.");
    else {
      body.text = f.text;
      body.content_type = f.contentType;
    }
  }
  if (problems.length > 0) return { body: null, problems };
  if (body.title === undefined && body.text === undefined) return { body: null, problems: ["Nothing changed."] };
  return { body, problems: [] };
}

export type KnowledgeChange =
  | { kind: "status"; id: number; status: KnowledgeStatus; version: number | null; reason: string | null }
  | { kind: "deleted"; id: number };

const STATUSES: readonly string[] = ["pending", "ready", "failed"];

export function parseKnowledgeEvent(type: string, data: string): KnowledgeChange | undefined {
  if (type !== "knowledge.status" && type !== "knowledge.deleted") return undefined;
  let j: unknown;
  try {
    j = JSON.parse(data);
  } catch {
    return undefined;
  }
  const d = j && typeof j === "object" ? (j as { data?: unknown }).data : undefined;
  if (!d || typeof d !== "object") return undefined;
  const { document_id, status, version, reason } = d as Record<string, unknown>;
  if (typeof document_id !== "number" || !Number.isSafeInteger(document_id)) return undefined;
  if (type === "knowledge.deleted") return { kind: "deleted", id: document_id };
  if (typeof status !== "string" || !STATUSES.includes(status)) return undefined;
  return {
    kind: "status",
    id: document_id,
    status: status as KnowledgeStatus,
    version: typeof version === "number" && Number.isSafeInteger(version) ? version : null,
    reason: typeof reason === "string" ? reason : null,
  };
}

// The documents with the change applied; the same array when nothing loaded changes. A
// status for an older version than the one shown is stale (the newer version has its own).
export function applyKnowledgeChange(docs: KnowledgeDocument[], c: KnowledgeChange): KnowledgeDocument[] {
  const i = docs.findIndex((d) => d.id === c.id);
  if (i < 0) return docs;
  if (c.kind === "deleted") return [...docs.slice(0, i), ...docs.slice(i + 1)];
  const d = docs[i]!;
  if (c.version !== null && c.version < d.version) return docs;
  const reason = c.status === "failed" ? c.reason : null;
  if (d.status === c.status && (d.reason ?? null) === reason && (c.version === null || c.version === d.version)) return docs;
  const next = docs.slice();
  next[i] = { ...d, status: c.status, reason, version: c.version ?? d.version };
  return next;
}

// A document saved or uploaded goes to the top (newest first), replacing an older copy.
export function upsertDocument(docs: KnowledgeDocument[], doc: KnowledgeDocument): KnowledgeDocument[] {
  const i = docs.findIndex((d) => d.id === doc.id);
  if (i < 0) return [doc, ...docs];
  const next = docs.slice();
  next[i] = doc;
  return next;
}

// 1536 -> "1.5 KB".
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n) || n < 0) return "—";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// Live changes of documents the page does not hold yet. The embed worker can finish (and
// announce "ready") before the answer to the save reaches the page; such a change is kept
// here and applied when the saved document is added (`upsertWithEarly`). Bounded: the oldest
// kept change goes first.
export const EARLY_CHANGES_MAX = 100;

export function keepEarlyChange(early: Map<number, KnowledgeChange>, docs: KnowledgeDocument[], c: KnowledgeChange): void {
  if (docs.some((d) => d.id === c.id)) return;
  early.delete(c.id);
  early.set(c.id, c);
  while (early.size > EARLY_CHANGES_MAX) early.delete(early.keys().next().value as number);
}

export function upsertWithEarly(
  docs: KnowledgeDocument[],
  doc: KnowledgeDocument,
  early: Map<number, KnowledgeChange>,
): KnowledgeDocument[] {
  const next = upsertDocument(docs, doc);
  const c = early.get(doc.id);
  if (!c) return next;
  early.delete(doc.id);
  if (c.kind === "deleted") return next.filter((d) => d.id !== doc.id);
  return applyKnowledgeChange(next, c);
}
