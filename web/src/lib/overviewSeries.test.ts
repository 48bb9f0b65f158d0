import { describe, expect, it } from "vitest";
import { utcDays } from "./daterange";
import { browserUtcOffset, offsetDays, offsetLabel, overviewDaily } from "./overviewSeries";

describe("offsetDays", () => {
  it("equals the UTC days at offset 0", () => {
    const from = "2026-11-01T00:00:00Z";
    const to = "2026-11-04T00:00:00Z";
    expect(offsetDays(from, to, 0)).toEqual(utcDays(from, to));
    expect(offsetDays(from, to, 0)).toEqual(["2026-11-01", "2026-11-02", "2026-11-03"]);
  });

  it("gives the local dates of a range of local midnights (India, +05:30)", () => {
    // 1..3 Nov in India: from 31 Oct 18:30Z to 3 Nov 18:30Z.
    expect(offsetDays("2026-10-31T18:30:00Z", "2026-11-03T18:30:00Z", 330)).toEqual(["2026-11-01", "2026-11-02", "2026-11-03"]);
    // the same instants read as UTC days touch four days
    expect(utcDays("2026-10-31T18:30:00Z", "2026-11-03T18:30:00Z")).toHaveLength(4);
  });

  it("gives the local dates west of UTC (New York, -05:00)", () => {
    expect(offsetDays("2026-11-01T05:00:00Z", "2026-11-03T05:00:00Z", -300)).toEqual(["2026-11-01", "2026-11-02"]);
  });

  it("is empty for a reversed or invalid range", () => {
    expect(offsetDays("2026-11-03T00:00:00Z", "2026-11-01T00:00:00Z", 60)).toEqual([]);
    expect(offsetDays("nope", "2026-11-01T00:00:00Z", 0)).toEqual([]);
  });
});

describe("browserUtcOffset and offsetLabel", () => {
  it("turns getTimezoneOffset (minutes west) into minutes east, within the API's range", () => {
    const at = (tzo: number) => ({ getTimezoneOffset: () => tzo }) as Date;
    expect(browserUtcOffset(at(-330))).toBe(330);
    expect(browserUtcOffset(at(300))).toBe(-300);
    expect(browserUtcOffset(at(0))).toBe(0);
    expect(browserUtcOffset(at(-900))).toBe(840);
    expect(browserUtcOffset(at(NaN))).toBe(0);
  });
  it("labels offsets", () => {
    expect(offsetLabel(330)).toBe("UTC+05:30");
    expect(offsetLabel(-240)).toBe("UTC-04:00");
    expect(offsetLabel(0)).toBe("UTC");
  });
});

describe("overviewDaily", () => {
  const days = ["2026-11-01", "2026-11-02", "2026-11-03"];

  it("gives calls with 0 and the three averages with gaps for days without a value", () => {
    const d = overviewDaily(days, [
      { day: "2026-11-01", calls: 3, avg_customer_sentiment: 0.25, avg_qa_score: 80, avg_agent_talk_ratio: 0.5 },
      { day: "2026-11-03", calls: 1, avg_customer_sentiment: null, avg_qa_score: 70, avg_agent_talk_ratio: null },
    ]);
    expect(d.calls[1]).toEqual([3, 0, 1]);
    expect(d.sentiment?.[1]).toEqual([0.25, null, null]);
    expect(d.qa?.[1]).toEqual([80, null, 70]);
    expect(d.talk?.[1]).toEqual([0.5, null, null]);
    expect(d.calls[0]).toEqual(d.qa?.[0]);
  });

  it("has no average series when the answer has none of those fields (an older server)", () => {
    const d = overviewDaily(days, [{ day: "2026-11-02", calls: 2 }]);
    expect(d.calls[1]).toEqual([0, 2, 0]);
    expect(d.sentiment).toBeNull();
    expect(d.qa).toBeNull();
    expect(d.talk).toBeNull();
  });
});
