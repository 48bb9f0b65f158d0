import { describe, expect, it } from "vitest";
import { parseSentiment } from "./callAnalyses";
import { linesInSpans, overlaps } from "./callCategories";
import { sentimentSeries, sentimentSummary, sentimentWord } from "./callSentiment";
import type { Segment } from "./transcript";

const seg = (speaker: string, start_ms: number, end_ms: number): Segment => ({ speaker, start_ms, end_ms, text: "" });

describe("sentimentSeries", () => {
  const out = parseSentiment({
    segments: [0.5, -0.4, null, 0.1],
    agent: { call: 0.3, quarters: [0.5, null, 0.1, null] },
    customer: { call: -0.4, quarters: [null, -0.4, null, null] },
    customer_change: null,
  })!;
  const segs = [seg("agent", 0, 2000), seg("customer", 4000, 6000), seg("agent", 6000, 7000), seg("agent", 3000, 3000)];

  it("places each scored segment at its middle, per speaker, sorted by time", () => {
    const s = sentimentSeries(segs, out, 8000);
    expect(s.points).toBe(3);
    // points at 1 s, 3 s, 5 s, and the quarter marks 0, 2, 4, 6, 8 s
    expect(s.x).toEqual([0, 1, 2, 3, 4, 5, 6, 8]);
    expect(s.agent).toEqual([null, 0.5, null, 0.1, null, null, null, null]);
    expect(s.customer).toEqual([null, null, null, null, null, -0.4, null, null]);
    // quarters of 2 s: x=3 s is in Q2 (index 1), 8 s (the end) in Q4
    expect(s.agentQuarter).toEqual([0.5, 0.5, null, null, 0.1, 0.1, null, null]);
    expect(s.customerQuarter).toEqual([null, null, -0.4, -0.4, null, null, null, null]);
  });

  it("stretches the call to the transcript's end and copes with fewer scores than lines", () => {
    const s = sentimentSeries(segs, { ...out, segments: [0.2] }, 0);
    expect(s.durationMs).toBe(7000);
    expect(s.points).toBe(1);
    expect(s.agent.filter((v) => v !== null)).toEqual([0.2]);
  });

  it("has no points for an empty transcript", () => {
    const s = sentimentSeries([], out, 0);
    expect(s.points).toBe(0);
    expect(s.x).toEqual([]);
  });
});

describe("sentiment text", () => {
  it("words the scores and summarises each speaker", () => {
    expect(sentimentWord(-0.42)).toBe("-0.42 (negative)");
    expect(sentimentWord(0.1)).toBe("0.10 (neutral)");
    expect(sentimentWord(0.25)).toBe("0.25 (positive)");
    expect(sentimentWord(null)).toBe("—");
    const lines = sentimentSummary(
      parseSentiment({ agent: { call: 0.3, quarters: [0.5, null, 0.1, 0.2] }, customer: { call: null }, customer_change: -0.35 })!,
    );
    expect(lines[0]).toBe("Agent: 0.30 (positive) over the call; by quarter 0.50, —, 0.10, 0.20.");
    expect(lines[1]).toBe("Customer: — over the call; by quarter —, —, —, —.");
    expect(lines[2]).toBe("Customer change from first to last quarter: -0.35.");
  });
});

describe("category overlap", () => {
  it("treats spans as half-open and instants as points", () => {
    expect(overlaps(0, 10, 5, 15)).toBe(true);
    expect(overlaps(0, 10, 10, 15)).toBe(false); // touching
    expect(overlaps(10, 15, 0, 10)).toBe(false);
    expect(overlaps(3, 3, 0, 10)).toBe(true); // an instant inside
    expect(overlaps(10, 10, 0, 10)).toBe(false);
    expect(overlaps(0, 10, 4, 4)).toBe(true); // an instant span
    expect(overlaps(0, 10, 2, 8)).toBe(true); // contained
  });

  it("finds the lines overlapping any span, in the transcript's order", () => {
    const segs = [seg("agent", 0, 1000), seg("customer", 1000, 2000), seg("agent", 5000, 6000), seg("customer", 2500, 2600)];
    expect([...linesInSpans(segs, [{ start_ms: 5500, end_ms: 9000 }, { start_ms: 1500, end_ms: 2550 }])].sort()).toEqual([1, 2, 3]);
    expect(linesInSpans(segs, []).size).toBe(0);
    expect([...linesInSpans(segs, [{ start_ms: 1000, end_ms: 1000 }])]).toEqual([1]);
  });
});
