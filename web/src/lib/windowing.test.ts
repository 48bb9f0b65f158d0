import { describe, expect, it } from "vitest";
import { computeWindow, shouldLoadMore } from "./windowing";

const base = { rowHeight: 40, viewportHeight: 400, overscan: 5 };

describe("computeWindow", () => {
  it("renders the first screen plus overscan at the top", () => {
    expect(computeWindow({ ...base, scrollTop: 0, rowCount: 10_000 })).toEqual({
      start: 0,
      end: 15,
      totalHeight: 400_000,
    });
  });

  it("renders only the rows around the viewport in the middle", () => {
    const w = computeWindow({ ...base, scrollTop: 200_020, rowCount: 10_000 });
    // rows 5000 (partly) .. 5010 (partly) visible
    expect(w).toEqual({ start: 4995, end: 5016, totalHeight: 400_000 });
    expect(w.end - w.start).toBeLessThan(30);
  });

  it("stops at the last row", () => {
    const w = computeWindow({ ...base, scrollTop: 400_000 - 400, rowCount: 10_000 });
    expect(w.end).toBe(10_000);
    expect(w.start).toBe(10_000 - 10 - 5);
  });

  it("clamps a scroll position past the end (rows removed)", () => {
    const w = computeWindow({ ...base, scrollTop: 1_000_000, rowCount: 100 });
    expect(w).toEqual({ start: 85, end: 100, totalHeight: 4000 });
  });

  it("handles fewer rows than fit, no rows and a negative scroll", () => {
    expect(computeWindow({ ...base, scrollTop: -50, rowCount: 3 })).toEqual({ start: 0, end: 3, totalHeight: 120 });
    expect(computeWindow({ ...base, scrollTop: 0, rowCount: 0 })).toEqual({ start: 0, end: 0, totalHeight: 0 });
  });

  it("renders at least one row in a zero-height viewport", () => {
    const w = computeWindow({ rowHeight: 40, viewportHeight: 0, overscan: 0, scrollTop: 80, rowCount: 10 });
    expect(w).toEqual({ start: 2, end: 3, totalHeight: 400 });
  });
});

describe("shouldLoadMore", () => {
  const w = { start: 80, end: 95, totalHeight: 4000 };
  it("loads near the end when there is more and nothing in flight", () => {
    expect(shouldLoadMore(w, 100, true, false, 10)).toBe(true);
  });
  it("does not load far from the end, on the last page or while loading", () => {
    expect(shouldLoadMore({ ...w, end: 50 }, 100, true, false, 10)).toBe(false);
    expect(shouldLoadMore(w, 100, false, false, 10)).toBe(false);
    expect(shouldLoadMore(w, 100, true, true, 10)).toBe(false);
  });
});
