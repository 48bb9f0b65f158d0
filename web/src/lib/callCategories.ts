// A matched category's spans against the transcript: which lines overlap a span (those are
// highlighted when the category is chosen). Spans and lines are half-open [start, end); a
// line of zero length counts when it lies inside a span, and touching is not overlapping.

import type { Span } from "./callAnalyses";
import type { Segment } from "./transcript";

export function overlaps(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  if (aEnd <= aStart) return aStart >= bStart && aStart < bEnd; // an instant
  if (bEnd <= bStart) return bStart >= aStart && bStart < aEnd;
  return aStart < bEnd && bStart < aEnd;
}

// Indices (in the transcript's order) of the lines overlapping any of the spans.
export function linesInSpans(segs: readonly Segment[], spans: readonly Span[]): Set<number> {
  const out = new Set<number>();
  if (spans.length === 0) return out;
  const sorted = [...spans].sort((a, b) => a.start_ms - b.start_ms);
  segs.forEach((s, i) => {
    for (const sp of sorted) {
      if (sp.start_ms > Math.max(s.start_ms, s.end_ms)) break;
      if (overlaps(s.start_ms, s.end_ms, sp.start_ms, sp.end_ms)) {
        out.add(i);
        break;
      }
    }
  });
  return out;
}
