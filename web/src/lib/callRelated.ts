// Similar calls (GET /api/v1/calls/{id}/similar) and coaching nudges
// (GET /api/v1/calls/{id}/recommendations): the answers read defensively and each nudge
// worded for a person.

import { formatDuration } from "./format";

export interface SimilarCall {
  call_id: number;
  score: number | null;
  started_at: string | null;
  status: string;
  issue_category: string;
  duration_ms: number | null;
  agent: string; // the agent's name, else "Agent {id}", else ""
  qa_score: number | null;
  outcome: string;
}

export interface Nudge {
  metric: string;
  name: string | null;
  value: unknown;
  example_value: unknown;
  example_call_id: number | null;
  advice: string;
}

export interface Similar {
  indexed: boolean;
  items: SimilarCall[];
}

export interface Recommendations {
  indexed: boolean;
  examples: SimilarCall[];
  nudges: Nudge[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function agentName(v: unknown): string {
  if (!isObj(v)) return "";
  if (typeof v.name === "string" && v.name !== "") return v.name;
  return num(v.id) !== null ? `Agent ${v.id as number}` : "";
}

function similarCall(o: Obj): SimilarCall | null {
  const id = num(o.call_id);
  if (id === null || !Number.isInteger(id) || id <= 0) return null;
  return {
    call_id: id,
    score: num(o.score),
    started_at: typeof o.started_at === "string" ? o.started_at : null,
    status: str(o.status),
    issue_category: str(o.issue_category),
    duration_ms: num(o.duration_ms),
    agent: agentName(o.human_agent),
    qa_score: num(o.qa_score),
    outcome: str(o.outcome),
  };
}

const calls = (v: unknown) => (Array.isArray(v) ? v.filter(isObj).map(similarCall).filter((x): x is SimilarCall => x !== null) : []);

export function parseSimilar(v: unknown): Similar {
  const o = isObj(v) ? v : {};
  return { indexed: o.indexed !== false, items: calls(o.items) };
}

export function parseRecommendations(v: unknown): Recommendations {
  const o = isObj(v) ? v : {};
  const nudges = (Array.isArray(o.nudges) ? o.nudges.filter(isObj) : []).map((n) => ({
    metric: str(n.metric),
    name: typeof n.name === "string" && n.name !== "" ? n.name : null,
    value: n.value,
    example_value: n.example_value,
    example_call_id: num(n.example_call_id),
    advice: str(n.advice),
  }));
  return { indexed: o.indexed !== false, examples: calls(o.examples), nudges };
}

const METRIC: Record<string, { label: string; fmt: (v: number) => string }> = {
  agent_talk_ratio: { label: "Agent talk ratio", fmt: (v) => `${Math.round(v * 100)}%` },
  patience_ms: { label: "Patience", fmt: (v) => `${(v / 1000).toFixed(1)} s` },
  question_rate_per_hour: { label: "Questions per hour", fmt: (v) => v.toFixed(0) },
  longest_monologue_ms: { label: "Longest monologue", fmt: (v) => formatDuration(v) },
};

function valueText(metric: string, v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return METRIC[metric]?.fmt(v) ?? String(Math.round(v * 1000) / 1000);
  if (typeof v === "boolean") return metric === "category" ? (v ? "matched" : "not matched") : v ? "yes" : "no";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

// {title: "Agent talk ratio", compare: "72% here, 41% in call 88"}.
export function nudgeText(n: Nudge): { title: string; compare: string } {
  let title = METRIC[n.metric]?.label ?? n.metric.replace(/_/g, " ");
  if (n.metric === "category") title = `Category ${n.name ?? ""}`.trim();
  else if (n.metric === "qa_answer") title = `QA question ${n.name ?? ""}`.trim();
  const where = n.example_call_id !== null ? `in call ${n.example_call_id}` : "in the example";
  return { title, compare: `${valueText(n.metric, n.value)} here, ${valueText(n.metric, n.example_value)} ${where}` };
}

// 503 (no retriever or embeddings) and 404 (nothing indexed) are not errors for the reader.
export function unavailable(status: number): boolean {
  return status === 503 || status === 404;
}
