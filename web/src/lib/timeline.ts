// The call timeline's layout: transcript segments -> per-speaker talk spans over the call's
// duration (as percentages), silences (nobody talking for longer than SILENCE_MIN_MS) and
// overtalk (two or more speakers at once); and the current-line lookup used to follow the
// audio in the transcript. Pure functions (no DOM).

import type { Segment } from "./transcript";

export const SILENCE_MIN_MS = 2000;

export interface Interval {
  start_ms: number;
  end_ms: number;
}

export interface Span extends Interval {
  left: number; // percent of the duration
  width: number; // percent of the duration
}

export interface SpeakerRow {
  speaker: string;
  spans: Span[];
  talk_ms: number; // merged, so a speaker's own overlapping segments count once
}

export interface TimelineLayout {
  duration_ms: number;
  rows: SpeakerRow[];
  silences: Span[];
  overtalk: Span[];
}

// Merges overlapping or touching intervals (input in any order).
export function mergeIntervals(list: Interval[]): Interval[] {
  const sorted = list.filter((i) => i.end_ms > i.start_ms).sort((a, b) => a.start_ms - b.start_ms || a.end_ms - b.end_ms);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start_ms <= last.end_ms) last.end_ms = Math.max(last.end_ms, i.end_ms);
    else out.push({ start_ms: i.start_ms, end_ms: i.end_ms });
  }
  return out;
}

function span(i: Interval, duration: number): Span {
  return {
    start_ms: i.start_ms,
    end_ms: i.end_ms,
    left: (i.start_ms / duration) * 100,
    width: ((i.end_ms - i.start_ms) / duration) * 100,
  };
}

// The speaker key of a row: agent and customer always (in that order), any other speaker
// after them in order of first appearance; an unnamed speaker is "unknown".
function speakerKey(s: string): string {
  const k = s.trim().toLowerCase();
  return k === "" ? "unknown" : k;
}

// durationMs: the call's duration; when it is 0 or missing the segments' last end is used.
// Segments are clipped to [0, duration]; those entirely past it are left out.
export function layoutTimeline(segs: Segment[], durationMs: number): TimelineLayout {
  let duration = Number.isFinite(durationMs) && durationMs > 0 ? durationMs : 0;
  if (duration === 0) for (const s of segs) duration = Math.max(duration, s.end_ms);
  const order = ["agent", "customer"];
  const bySpeaker = new Map<string, Interval[]>(order.map((k) => [k, []]));
  if (duration <= 0) {
    return { duration_ms: 0, rows: order.map((speaker) => ({ speaker, spans: [], talk_ms: 0 })), silences: [], overtalk: [] };
  }
  for (const s of segs) {
    const start = Math.max(0, s.start_ms);
    const end = Math.min(duration, s.end_ms);
    const k = speakerKey(s.speaker);
    if (!bySpeaker.has(k)) {
      bySpeaker.set(k, []);
      order.push(k);
    }
    if (end > start) bySpeaker.get(k)!.push({ start_ms: start, end_ms: end });
  }
  const merged = order.map((k) => ({ speaker: k, list: mergeIntervals(bySpeaker.get(k)!) }));
  const rows: SpeakerRow[] = merged.map(({ speaker, list }) => ({
    speaker,
    spans: list.map((i) => span(i, duration)),
    talk_ms: list.reduce((a, i) => a + i.end_ms - i.start_ms, 0),
  }));

  // Sweep over every speaker's merged intervals: +1 at a start, -1 at an end (ends first at
  // the same instant, so touching turns are not overtalk).
  const events: [number, number][] = [];
  for (const { list } of merged) for (const i of list) events.push([i.start_ms, 1], [i.end_ms, -1]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const overtalk: Interval[] = [];
  const silences: Interval[] = [];
  let active = 0;
  let quietSince = 0;
  let overSince = 0;
  for (const [t, d] of events) {
    if (d > 0) {
      if (active === 0 && t - quietSince > SILENCE_MIN_MS) silences.push({ start_ms: quietSince, end_ms: t });
      if (active === 1) overSince = t;
      active++;
    } else {
      if (active === 2 && t > overSince) overtalk.push({ start_ms: overSince, end_ms: t });
      active--;
      if (active === 0) quietSince = t;
    }
  }
  if (active === 0 && duration - quietSince > SILENCE_MIN_MS) silences.push({ start_ms: quietSince, end_ms: duration });
  return {
    duration_ms: duration,
    rows,
    silences: silences.map((i) => span(i, duration)),
    overtalk: mergeIntervals(overtalk).map((i) => span(i, duration)),
  };
}

// Indices of segs ordered by start (then end, then position): the lookup's index.
export function sortedOrder(segs: Segment[]): number[] {
  return segs
    .map((_, i) => i)
    .sort((a, b) => segs[a]!.start_ms - segs[b]!.start_ms || segs[a]!.end_ms - segs[b]!.end_ms || a - b);
}

// The segment being played at tMs: the last one (by start) that has started and not yet
// ended; -1 when nobody's line covers tMs. With `orLast`, the last line started at or before
// tMs even when it has ended (else the first line), for ?t= links that land in a gap.
// order: sortedOrder(segs). Binary search: O(log n) per call.
export function currentLine(segs: Segment[], order: number[], tMs: number, orLast = false): number {
  let lo = 0;
  let hi = order.length; // first position whose start > tMs
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (segs[order[mid]!]!.start_ms <= tMs) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return orLast && order.length > 0 ? order[0]! : -1;
  const i = order[lo - 1]!;
  if (tMs < segs[i]!.end_ms || orLast) return i;
  return -1;
}

// "?t=12.5" -> 12500; anything else (missing, negative, not a number) -> null.
export function parseSeconds(v: string | null): number | null {
  if (v == null || !/^\d+(\.\d+)?$/.test(v.trim())) return null;
  const s = Number(v.trim());
  return Number.isFinite(s) ? Math.round(s * 1000) : null;
}
