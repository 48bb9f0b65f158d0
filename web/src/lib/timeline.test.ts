import { describe, expect, it } from "vitest";
import { currentLine, layoutTimeline, mergeIntervals, parseSeconds, sortedOrder } from "./timeline";
import type { Segment } from "./transcript";

const seg = (speaker: string, start_ms: number, end_ms: number, text = ""): Segment => ({ speaker, start_ms, end_ms, text });
const iv = (l: { start_ms: number; end_ms: number }[]) => l.map((x) => [x.start_ms, x.end_ms]);

describe("layoutTimeline", () => {
  it("lays out spans as percentages per speaker, agent then customer", () => {
    const l = layoutTimeline([seg("customer", 5000, 10000), seg("agent", 0, 5000)], 20000);
    expect(l.duration_ms).toBe(20000);
    expect(l.rows.map((r) => r.speaker)).toEqual(["agent", "customer"]);
    expect(l.rows[0]!.spans).toEqual([{ start_ms: 0, end_ms: 5000, left: 0, width: 25 }]);
    expect(l.rows[1]!.spans).toEqual([{ start_ms: 5000, end_ms: 10000, left: 25, width: 25 }]);
    expect(l.rows[0]!.talk_ms).toBe(5000);
    expect(l.overtalk).toEqual([]);
    // the trailing 10 s nobody talks is a silence
    expect(iv(l.silences)).toEqual([[10000, 20000]]);
    expect(l.silences[0]!.left).toBe(50);
  });

  it("marks overtalk where both talk, not a speaker overlapping their own line", () => {
    const l = layoutTimeline(
      [seg("agent", 0, 4000), seg("agent", 3000, 6000), seg("customer", 5000, 8000), seg("customer", 7000, 7500)],
      8000,
    );
    expect(iv(l.rows[0]!.spans)).toEqual([[0, 6000]]);
    expect(l.rows[0]!.talk_ms).toBe(6000);
    expect(iv(l.rows[1]!.spans)).toEqual([[5000, 8000]]);
    expect(iv(l.overtalk)).toEqual([[5000, 6000]]);
    expect(l.silences).toEqual([]);
  });

  it("does not count touching turns as overtalk, and a gap of exactly 2 s is not a silence", () => {
    const l = layoutTimeline([seg("agent", 0, 1000), seg("customer", 1000, 2000), seg("agent", 4000, 5000), seg("customer", 7500, 9000)], 9000);
    expect(l.overtalk).toEqual([]);
    expect(iv(l.silences)).toEqual([[5000, 7500]]);
  });

  it("accepts unsorted input and gives the same layout", () => {
    const segs = [seg("agent", 0, 3000), seg("customer", 2000, 4000), seg("agent", 9000, 10000)];
    const a = layoutTimeline(segs, 10000);
    const b = layoutTimeline([segs[2]!, segs[0]!, segs[1]!], 10000);
    expect(b).toEqual(a);
    expect(iv(a.overtalk)).toEqual([[2000, 3000]]);
    expect(iv(a.silences)).toEqual([[4000, 9000]]);
  });

  it("reports a leading silence", () => {
    expect(iv(layoutTimeline([seg("agent", 3000, 4000)], 4000).silences)).toEqual([[0, 3000]]);
  });

  it("uses the segments' last end for a zero duration, and is empty with nothing to lay out", () => {
    const l = layoutTimeline([seg("agent", 0, 1000), seg("customer", 1000, 4000)], 0);
    expect(l.duration_ms).toBe(4000);
    expect(l.rows[1]!.spans[0]).toEqual({ start_ms: 1000, end_ms: 4000, left: 25, width: 75 });
    const e = layoutTimeline([], 0);
    expect(e.duration_ms).toBe(0);
    expect(e.rows.every((r) => r.spans.length === 0)).toBe(true);
    expect(e.silences).toEqual([]);
    expect(layoutTimeline([seg("agent", 0, 0)], Number.NaN).duration_ms).toBe(0);
  });

  it("clips segments running past the duration and drops those after it", () => {
    const l = layoutTimeline([seg("agent", 0, 1000), seg("customer", 800, 5000), seg("agent", 6000, 7000)], 2000);
    expect(iv(l.rows[0]!.spans)).toEqual([[0, 1000]]);
    expect(iv(l.rows[1]!.spans)).toEqual([[800, 2000]]);
    expect(l.rows[1]!.spans[0]!.left + l.rows[1]!.spans[0]!.width).toBe(100);
    expect(iv(l.overtalk)).toEqual([[800, 1000]]);
  });

  it("gives other speakers their own rows after agent and customer", () => {
    const l = layoutTimeline([seg("Supervisor", 0, 1000), seg("", 1000, 2000), seg("AGENT", 2000, 3000)], 3000);
    expect(l.rows.map((r) => r.speaker)).toEqual(["agent", "customer", "supervisor", "unknown"]);
    expect(l.rows[0]!.talk_ms).toBe(1000);
    expect(l.rows[1]!.spans).toEqual([]);
  });
});

describe("mergeIntervals", () => {
  it("merges overlapping and touching intervals and drops empty ones", () => {
    expect(
      iv(
        mergeIntervals([
          { start_ms: 5, end_ms: 7 },
          { start_ms: 0, end_ms: 2 },
          { start_ms: 2, end_ms: 3 },
          { start_ms: 6, end_ms: 9 },
          { start_ms: 4, end_ms: 4 },
        ]),
      ),
    ).toEqual([
      [0, 3],
      [5, 9],
    ]);
  });
});

describe("currentLine", () => {
  const segs = [seg("customer", 5000, 8000), seg("agent", 0, 4000), seg("agent", 10000, 12000)];
  const order = sortedOrder(segs);

  it("orders by start", () => {
    expect(order).toEqual([1, 0, 2]);
  });

  it("finds the line being played, and none in a gap or before the first", () => {
    expect(currentLine(segs, order, 0)).toBe(1);
    expect(currentLine(segs, order, 3999)).toBe(1);
    expect(currentLine(segs, order, 4000)).toBe(-1);
    expect(currentLine(segs, order, 5000)).toBe(0);
    expect(currentLine(segs, order, 11000)).toBe(2);
    expect(currentLine(segs, order, 12000)).toBe(-1);
    expect(currentLine([], [], 100)).toBe(-1);
  });

  it("with orLast, the line last started (or the first) for a time in a gap", () => {
    expect(currentLine(segs, order, 9000, true)).toBe(0);
    expect(currentLine(segs, order, 99000, true)).toBe(2);
    const late = [seg("agent", 2000, 3000)];
    expect(currentLine(late, sortedOrder(late), 500, true)).toBe(0);
    expect(currentLine(late, sortedOrder(late), 500)).toBe(-1);
  });

  it("agrees with a linear scan over many lines", () => {
    const many = Array.from({ length: 200 }, (_, i) => seg(i % 2 ? "agent" : "customer", ((i * 7919) % 200) * 1000, ((i * 7919) % 200) * 1000 + 600));
    const o = sortedOrder(many);
    for (let t = 0; t < 201_000; t += 250) {
      const want = many.findIndex((s) => s.start_ms <= t && t < s.end_ms);
      expect(currentLine(many, o, t)).toBe(want);
    }
  });
});

describe("parseSeconds", () => {
  it("reads whole and fractional seconds and refuses anything else", () => {
    expect(parseSeconds("62")).toBe(62000);
    expect(parseSeconds("1.25")).toBe(1250);
    expect(parseSeconds(null)).toBeNull();
    expect(parseSeconds("")).toBeNull();
    expect(parseSeconds("-3")).toBeNull();
    expect(parseSeconds("abc")).toBeNull();
    expect(parseSeconds("1e3")).toBeNull();
  });
});
