// The call's analyses sorted into the builtin outputs the call page draws (sentiment,
// categories, QA, summary, PII) and the others (LLM agents), each builtin parsed into a
// well-typed value whatever the stored JSON holds. An analysis names its agent (`agent`)
// when the API sends it; otherwise a builtin is recognised by its model ("builtin") and the
// shape of its output.

import type { Analysis } from "../api/types";

export interface SpeakerSentiment {
  call: number | null;
  quarters: (number | null)[]; // 4 entries, null where the speaker said nothing
}

export interface SentimentOutput {
  segments: (number | null)[]; // per transcript segment, in the transcript's order
  agent: SpeakerSentiment;
  customer: SpeakerSentiment;
  customerChange: number | null;
}

export interface Span {
  start_ms: number;
  end_ms: number;
}

export interface CategoryMatch {
  id: number | null;
  name: string;
  spans: Span[];
}

export interface QaAnswer {
  id: string;
  answer: string; // yes, no, n/a, or whatever the scorer wrote
  weight: number | null;
  text: string | null; // the question, when the API sends it
}

export interface QaScorecard {
  id: number | null;
  name: string;
  score: number | null;
  answers: QaAnswer[];
}

export interface QaOutput {
  score: number | null;
  scorecards: QaScorecard[];
}

export interface SummaryOutput {
  summary: string;
  issue: string;
  resolution: string;
  outcome: string;
  outcomeEvidence: string;
}

export interface PiiOutput {
  counts: Record<string, number>;
  redactedSegments: number;
}

export interface SortedAnalyses {
  sentiment: SentimentOutput | null;
  categories: CategoryMatch[] | null;
  qa: QaOutput | null;
  summary: SummaryOutput | null;
  pii: PiiOutput | null;
  others: Analysis[]; // LLM agents and anything not recognised, in the API's order
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === "string" ? v : v == null ? "" : String(v));

export type BuiltinKind = "sentiment" | "categories" | "qa" | "summary" | "pii";
const KINDS: readonly BuiltinKind[] = ["sentiment", "categories", "qa", "summary", "pii"];

// Which builtin an analysis is, or null for any other agent.
export function builtinKind(a: Analysis): BuiltinKind | null {
  if (typeof a.agent === "string" && a.agent !== "") {
    const m = /^builtin\.(.+)$/.exec(a.agent);
    const k = m?.[1] as BuiltinKind | undefined;
    return k && KINDS.includes(k) ? k : null;
  }
  if (a.model !== "builtin" || !isObj(a.output)) return null;
  const o = a.output;
  if (Array.isArray(o.segments) && isObj(o.agent) && isObj(o.customer)) return "sentiment";
  if (Array.isArray(o.matches)) return "categories";
  if (Array.isArray(o.scorecards)) return "qa";
  if ("summary" in o && "outcome" in o) return "summary";
  if (isObj(o.counts) && Array.isArray(o.redacted_segments)) return "pii";
  return null;
}

function speaker(v: unknown): SpeakerSentiment {
  const o = isObj(v) ? v : {};
  const q = Array.isArray(o.quarters) ? o.quarters : [];
  return { call: num(o.call), quarters: [0, 1, 2, 3].map((i) => num(q[i])) };
}

export function parseSentiment(v: unknown): SentimentOutput | null {
  if (!isObj(v)) return null;
  return {
    segments: Array.isArray(v.segments) ? v.segments.map(num) : [],
    agent: speaker(v.agent),
    customer: speaker(v.customer),
    customerChange: num(v.customer_change),
  };
}

export function parseSpans(v: unknown): Span[] {
  if (!Array.isArray(v)) return [];
  const out: Span[] = [];
  for (const s of v) {
    if (!isObj(s)) continue;
    const a = num(s.start_ms);
    const b = num(s.end_ms);
    if (a === null || b === null) continue;
    out.push({ start_ms: Math.min(a, b), end_ms: Math.max(a, b) });
  }
  return out;
}

export function parseCategories(v: unknown): CategoryMatch[] | null {
  if (!isObj(v) || !Array.isArray(v.matches)) return null;
  return v.matches.filter(isObj).map((m) => ({
    id: num(m.id),
    name: str(m.name) || (num(m.id) !== null ? `Category ${num(m.id)}` : "Category"),
    spans: parseSpans(m.spans),
  }));
}

export function parseQa(v: unknown): QaOutput | null {
  if (!isObj(v)) return null;
  const cards = Array.isArray(v.scorecards) ? v.scorecards.filter(isObj) : [];
  return {
    score: num(v.score),
    scorecards: cards.map((c) => ({
      id: num(c.scorecard_id),
      name: str(c.name) || "Scorecard",
      score: num(c.score),
      answers: (Array.isArray(c.answers) ? c.answers.filter(isObj) : []).map((a) => ({
        id: str(a.id),
        answer: str(a.answer),
        weight: num(a.weight),
        text: typeof a.text === "string" && a.text !== "" ? a.text : null,
      })),
    })),
  };
}

export function parseSummary(v: unknown): SummaryOutput | null {
  if (!isObj(v)) return null;
  return {
    summary: str(v.summary),
    issue: str(v.issue),
    resolution: str(v.resolution),
    outcome: str(v.outcome),
    outcomeEvidence: str(v.outcome_evidence),
  };
}

export function parsePii(v: unknown): PiiOutput | null {
  if (!isObj(v)) return null;
  const counts: Record<string, number> = {};
  if (isObj(v.counts)) for (const [k, c] of Object.entries(v.counts)) if (num(c) !== null) counts[k] = c as number;
  return { counts, redactedSegments: Array.isArray(v.redacted_segments) ? v.redacted_segments.length : 0 };
}

// The newest analysis of each builtin wins (the API lists them oldest first).
export function sortAnalyses(analyses: readonly Analysis[]): SortedAnalyses {
  const out: SortedAnalyses = { sentiment: null, categories: null, qa: null, summary: null, pii: null, others: [] };
  for (const a of analyses) {
    const k = builtinKind(a);
    if (k === "sentiment") out.sentiment = parseSentiment(a.output) ?? out.sentiment;
    else if (k === "categories") out.categories = parseCategories(a.output) ?? out.categories;
    else if (k === "qa") out.qa = parseQa(a.output) ?? out.qa;
    else if (k === "summary") out.summary = parseSummary(a.output) ?? out.summary;
    else if (k === "pii") out.pii = parsePii(a.output) ?? out.pii;
    else out.others.push(a);
  }
  return out;
}

// "sop_adherence" / "builtin.summary" -> "Sop adherence" / "Summary"; an id when no name.
export function agentTitle(a: Analysis): string {
  if (typeof a.agent === "string" && a.agent !== "") {
    const name = a.agent.replace(/^builtin\./, "");
    return humanize(name);
  }
  return `Agent ${a.agent_config_id}`;
}

export function humanize(key: string): string {
  const t = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_\-.]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  if (!t) return key;
  const words = t.split(" ").map((w) => (/^(id|qa|sop|bant|pii|csat|nps|url)$/i.test(w) ? w.toUpperCase() : w.toLowerCase()));
  const s = words.join(" ");
  return s[0]!.toUpperCase() + s.slice(1);
}

// The builtin QA score is the share of answered questions answered yes (0..1): shown as a
// percentage; a score above 1 (another scale, 0..100) is shown as it is.
export function formatQaScore(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  if (v >= 0 && v <= 1) return `${Math.round(v * 100)}%`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// The badge style of a QA answer.
export function answerTone(answer: string): "yes" | "no" | "na" {
  const a = answer.trim().toLowerCase();
  if (a === "yes" || a === "pass" || a === "true") return "yes";
  if (a === "no" || a === "fail" || a === "false") return "no";
  return "na";
}
