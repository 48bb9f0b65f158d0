// The sentiment curve of a call: the builtin sentiment's score per transcript segment (same
// order as the transcript) placed at each segment's middle, one series per speaker, and each
// speaker's quarter averages as a step line over the call's four quarters (the analyzer
// assigns a segment to the quarter holding its middle). Customer segments are the ones whose
// speaker is "customer"; every other speaker counts as the agent, as in the analyzer.

import type { SentimentOutput, SpeakerSentiment } from "./callAnalyses";
import type { Segment } from "./transcript";

export interface SentimentSeries {
  // x: seconds from the call's start; the rest aligned with it (null: no point there).
  x: number[];
  agent: (number | null)[];
  customer: (number | null)[];
  agentQuarter: (number | null)[];
  customerQuarter: (number | null)[];
  durationMs: number;
  points: number; // scored segments
}

const quarterOf = (ms: number, durationMs: number) =>
  durationMs > 0 ? Math.min(3, Math.max(0, Math.floor((ms * 4) / durationMs))) : 0;

export function sentimentSeries(segs: readonly Segment[], s: SentimentOutput, durationMs: number): SentimentSeries {
  let dur = Math.max(0, durationMs);
  for (const g of segs) dur = Math.max(dur, g.end_ms);
  const pts: { ms: number; v: number; customer: boolean }[] = [];
  segs.forEach((g, i) => {
    const v = s.segments[i];
    if (v === null || v === undefined || !Number.isFinite(v)) return;
    pts.push({ ms: (g.start_ms + Math.max(g.start_ms, g.end_ms)) / 2, v, customer: g.speaker === "customer" });
  });
  pts.sort((a, b) => a.ms - b.ms);
  // The quarter lines need a point at each quarter's start and at the end of the call.
  const xsMs = new Set<number>(pts.map((p) => p.ms));
  if (dur > 0) for (let q = 0; q <= 4; ++q) xsMs.add((dur * q) / 4);
  const xs = [...xsMs].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const agent: (number | null)[] = xs.map(() => null);
  const customer: (number | null)[] = xs.map(() => null);
  for (const p of pts) (p.customer ? customer : agent)[idx.get(p.ms)!] = p.v;
  const quarterLine = (sp: SpeakerSentiment) =>
    xs.map((ms) => (dur > 0 ? (sp.quarters[quarterOf(Math.min(ms, dur - 1), dur)] ?? null) : null));
  return {
    x: xs.map((ms) => ms / 1000),
    agent,
    customer,
    agentQuarter: quarterLine(s.agent),
    customerQuarter: quarterLine(s.customer),
    durationMs: dur,
    points: pts.length,
  };
}

// -0.42 -> "-0.42 (negative)"; the analyzer's scores are -1..1.
export function sentimentWord(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const word = v <= -0.25 ? "negative" : v >= 0.25 ? "positive" : "neutral";
  return `${v.toFixed(2)} (${word})`;
}

// The text equivalent of the chart: each speaker's call score and quarters.
export function sentimentSummary(s: SentimentOutput): string[] {
  const line = (who: string, sp: SpeakerSentiment) =>
    `${who}: ${sentimentWord(sp.call)} over the call; by quarter ${sp.quarters.map((q) => (q === null ? "—" : q.toFixed(2))).join(", ")}.`;
  const out = [line("Agent", s.agent), line("Customer", s.customer)];
  if (s.customerChange !== null)
    out.push(`Customer change from first to last quarter: ${s.customerChange >= 0 ? "+" : ""}${s.customerChange.toFixed(2)}.`);
  return out;
}
