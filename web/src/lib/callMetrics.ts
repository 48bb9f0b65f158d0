// The call's conversation metrics (the `metrics` object of GET /api/v1/calls/{id}) as the
// labelled figures of the call page; a value the metrics lack (or a null) shows as "—".

import { formatDuration } from "./format";

// The talk-ratio benchmarks of the metrics document: top reps talk about 43% of the time,
// above 65% is a risk.
export const TALK_TOP_REPS = 0.43;
export const TALK_RISK_ABOVE = 0.65;

export type Tone = "good" | "warn" | "bad" | undefined;

export interface Figure {
  id: string; // stable key, also the data-figure attribute
  label: string;
  value: string;
  hint?: string;
  tone?: Tone;
}

type Obj = Record<string, unknown>;
const num = (m: Obj, k: string): number | null => {
  const v = m[k];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
};

const DASH = "—";
const dur = (v: number | null) => (v === null ? DASH : formatDuration(v));
const pct = (v: number | null) => (v === null ? DASH : `${Math.round(v * 100)}%`);
const fixed = (v: number | null, d: number, unit = "") => (v === null ? DASH : `${v.toFixed(d)}${unit}`);
const count = (v: number | null) => (v === null ? DASH : String(Math.round(v)));
// Sub-second times (patience) are read better in seconds with a decimal.
const secs = (v: number | null) => (v === null ? DASH : v < 60_000 ? `${(v / 1000).toFixed(1)} s` : formatDuration(v));

// Where the agent's talk ratio stands against the benchmarks.
export function talkRatioVerdict(r: number | null): { hint: string; tone: Tone } | null {
  if (r === null) return null;
  if (r > TALK_RISK_ABOVE) return { hint: `above the ${pct(TALK_RISK_ABOVE)} risk line`, tone: "bad" };
  if (r <= TALK_TOP_REPS) return { hint: `at or under the top reps' ${pct(TALK_TOP_REPS)}`, tone: "good" };
  return { hint: `between ${pct(TALK_TOP_REPS)} (top reps) and ${pct(TALK_RISK_ABOVE)} (risk)`, tone: "warn" };
}

export interface Silence {
  start_ms: number;
  end_ms: number;
}

// The silences listed in the metrics (each {start_ms, end_ms, duration_ms?}).
export function silences(metrics: Obj): Silence[] {
  const raw = metrics.silences;
  if (!Array.isArray(raw)) return [];
  const out: Silence[] = [];
  for (const s of raw) {
    if (s === null || typeof s !== "object") continue;
    const o = s as Obj;
    const a = num(o, "start_ms");
    const b = num(o, "end_ms");
    if (a === null || b === null || b < a) continue;
    out.push({ start_ms: a, end_ms: b });
  }
  return out;
}

export function metricFigures(metrics: Obj | null | undefined): Figure[] {
  const m: Obj = metrics ?? {};
  const sil = silences(m);
  const silTotal = Array.isArray(m.silences) ? sil.reduce((t, s) => t + (s.end_ms - s.start_ms), 0) : null;
  const ratio = num(m, "agent_talk_ratio");
  const verdict = talkRatioVerdict(ratio);
  const overtalkN = num(m, "overtalk_count");
  const loud = (who: string) => {
    const mean = num(m, `${who}_loudness_mean_dbfs`);
    const peak = num(m, `${who}_loudness_peak_dbfs`);
    return mean === null && peak === null ? DASH : `${fixed(mean, 1)} / ${fixed(peak, 1)} dBFS`;
  };
  const out: Figure[] = [
    { id: "agent_talk", label: "Agent talk time", value: dur(num(m, "agent_talk_ms")) },
    { id: "customer_talk", label: "Customer talk time", value: dur(num(m, "customer_talk_ms")) },
    {
      id: "agent_talk_ratio",
      label: "Agent talk ratio",
      value: pct(ratio),
      hint: verdict?.hint ?? `benchmarks: ${pct(TALK_TOP_REPS)} top reps, ${pct(TALK_RISK_ABOVE)} risk`,
      tone: verdict?.tone,
    },
    {
      id: "silence",
      label: "Silence",
      value: silTotal === null ? DASH : formatDuration(silTotal),
      hint: silTotal === null ? undefined : `${sil.length} ${sil.length === 1 ? "gap" : "gaps"} over 2 s`,
    },
    {
      id: "overtalk",
      label: "Overtalk",
      value: dur(num(m, "overtalk_ms")),
      hint: overtalkN === null ? undefined : `${overtalkN} ${overtalkN === 1 ? "time" : "times"}`,
    },
    { id: "agent_interruptions", label: "Agent interruptions", value: count(num(m, "agent_interruptions")) },
    { id: "customer_interruptions", label: "Customer interruptions", value: count(num(m, "customer_interruptions")) },
    { id: "agent_loudness", label: "Agent loudness (mean / peak)", value: loud("agent") },
    { id: "customer_loudness", label: "Customer loudness (mean / peak)", value: loud("customer") },
    { id: "agent_wpm", label: "Agent pace", value: fixed(num(m, "agent_wpm"), 0, " wpm") },
    { id: "customer_wpm", label: "Customer pace", value: fixed(num(m, "customer_wpm"), 0, " wpm") },
    { id: "longest_monologue", label: "Longest agent monologue", value: dur(num(m, "longest_monologue_ms")) },
    { id: "longest_story", label: "Longest customer story", value: dur(num(m, "longest_customer_story_ms")) },
    {
      id: "patience",
      label: "Patience",
      value: secs(num(m, "patience_ms")),
      hint: "agent's average pause before answering",
    },
    { id: "question_rate", label: "Agent questions", value: fixed(num(m, "question_rate_per_hour"), 0, " per hour") },
    { id: "interactivity", label: "Interactivity", value: fixed(num(m, "interactivity_per_min"), 1, " turns/min") },
  ];
  return out;
}
