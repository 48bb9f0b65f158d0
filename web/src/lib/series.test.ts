import { describe, expect, it } from "vitest";
import { barColumns, dailyColumns, daySeconds, hourColumns, trendPoints } from "./series";

describe("dailyColumns", () => {
  const days = ["2026-11-01", "2026-11-02", "2026-11-03"];
  const rows = [
    { day: "2026-11-01", calls: 4, avg: 0.5 },
    { day: "2026-11-03", calls: 2, avg: null },
    { day: "2026-12-25", calls: 9, avg: 1 }, // outside the range
  ];

  it("gives one x per day at UTC midnight in seconds", () => {
    const [xs] = dailyColumns(days, rows, []);
    expect(xs).toEqual([1793491200, 1793577600, 1793664000]);
    expect(daySeconds("2026-11-01")).toBe(Date.UTC(2026, 10, 1) / 1000);
  });

  it("fills days without data: null gaps for averages, 0 for counts", () => {
    const [, calls, avg] = dailyColumns(days, rows, [
      { get: (r) => r.calls, missing: 0 },
      { get: (r) => r.avg, missing: null },
    ]);
    expect(calls).toEqual([4, 0, 2]);
    expect(avg).toEqual([0.5, null, null]);
  });

  it("turns non-finite values into gaps", () => {
    const [, v] = dailyColumns(["2026-11-01"], [{ day: "2026-11-01", v: NaN }], [{ get: (r) => r.v, missing: 0 }]);
    expect(v).toEqual([null]);
  });

  it("is empty for no days", () => {
    expect(dailyColumns([], rows, [{ get: (r) => r.calls, missing: 0 }])).toEqual([[], []]);
  });
});

describe("hourColumns", () => {
  it("gives 24 hours with 0 for hours without calls and ignores bad hours", () => {
    const [xs, ys] = hourColumns([
      { hour: 0, calls: 3 },
      { hour: 13, calls: 7 },
      { hour: 24, calls: 99 },
      { hour: -1, calls: 99 },
    ]);
    expect(xs).toHaveLength(24);
    expect(xs[23]).toBe(23);
    expect(ys[0]).toBe(3);
    expect(ys[13]).toBe(7);
    expect(ys.reduce((a, b) => a + b, 0)).toBe(10);
  });
});

describe("barColumns", () => {
  it("indexes bars in order, keeps labels and caps the count", () => {
    const rows = [
      { name: "Pune", n: 5 },
      { name: "Delhi", n: null },
      { name: "Goa", n: 1 },
    ];
    expect(
      barColumns(
        rows,
        (r) => r.name,
        (r) => r.n,
        2,
      ),
    ).toEqual({ labels: ["Pune", "Delhi"], data: [[0, 1], [5, null]] });
  });
});

describe("trendPoints", () => {
  it("keeps well-formed entries sorted by time and tolerates any JSON", () => {
    expect(trendPoints(null)).toEqual([]);
    expect(trendPoints({ at: 1 })).toEqual([]);
    expect(
      trendPoints([
        { call_id: 2, at: 2000, talk_ratio: 0.5, sentiment: null, qa_score: 80 },
        "junk",
        { call_id: 3 },
        { call_id: 4, at: 1e20 }, // not a representable time
        { call_id: 1, at: 1000, talk_ratio: "x", sentiment: -0.2 },
      ]),
    ).toEqual([
      { callId: 1, at: 1000, talkRatio: null, sentiment: -0.2, qaScore: null },
      { callId: 2, at: 2000, talkRatio: 0.5, sentiment: null, qaScore: 80 },
    ]);
  });
});
