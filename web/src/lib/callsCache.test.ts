import { describe, expect, it } from "vitest";
import { callsCacheKey, createListCache, reprocessOutcome, reprocessQuestion } from "./callsCache";

const entry = (n: number, scrollTop = 0) => ({ rows: Array.from({ length: n }, (_, i) => i), cursor: n ? "c" : null, done: false, scrollTop, pageY: 120 });

describe("createListCache", () => {
  it("gives back what was stored for the same key within the time to live", () => {
    const c = createListCache<number>(60_000);
    c.put("a", entry(3, 440), 1_000);
    expect(c.get("a", 61_000)).toEqual(entry(3, 440));
    expect(c.get("b", 1_000)).toBeNull();
  });

  it("drops an entry once it is older than the time to live", () => {
    const c = createListCache<number>(60_000);
    c.put("a", entry(1), 1_000);
    expect(c.get("a", 61_001)).toBeNull();
    expect(c.size()).toBe(0);
  });

  it("drops an entry stored 'in the future' (a clock set back)", () => {
    const c = createListCache<number>(60_000);
    c.put("a", entry(1), 10_000);
    expect(c.get("a", 5_000)).toBeNull();
  });

  it("keeps at most max entries, dropping the least recently stored", () => {
    const c = createListCache<number>(60_000, 2);
    c.put("a", entry(1), 0);
    c.put("b", entry(2), 1);
    c.put("a", entry(3), 2); // a is now the newest
    c.put("c", entry(4), 3);
    expect(c.get("b", 3)).toBeNull();
    expect(c.get("a", 3)?.rows).toHaveLength(3);
    expect(c.get("c", 3)?.rows).toHaveLength(4);
    c.drop("a");
    expect(c.get("a", 3)).toBeNull();
  });

  it("keys by business and query string", () => {
    expect(callsCacheKey("acme", "status=failed")).not.toBe(callsCacheKey("other", "status=failed"));
    expect(callsCacheKey(null, "")).toBe("?");
  });
});

describe("bulk reprocess texts", () => {
  it("says how many are loaded and that the server applies the filters", () => {
    const q = reprocessQuestion(100, false, "analyze");
    expect(q).toMatch(/100 calls are loaded here and there are more/);
    expect(q).toMatch(/server applies the filters/);
    expect(q).toMatch(/at most 10,000/);
    expect(reprocessQuestion(1, true, "transcribe")).toMatch(/1 call is loaded here, which is all of them/);
  });

  it("reads the answer's counts", () => {
    expect(reprocessOutcome({ stage: "analyze", queued: 12, skipped: 3 })).toBe("12 queued, 3 skipped");
    expect(reprocessOutcome(null)).toBe("0 queued, 0 skipped");
  });
});
