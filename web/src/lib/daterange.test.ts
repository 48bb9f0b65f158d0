import { describe, expect, it } from "vitest";
import {
  addDays,
  daysBetween,
  defaultRange,
  localMidnightIso,
  parseRange,
  parseYmd,
  rangeToApi,
  rangeToParams,
  utcDays,
} from "./daterange";

// A local time (the test runs in the machine's time zone; every expectation below is built
// from local Date fields, so it holds in any zone).
const now = new Date(2026, 10, 21, 9, 40); // 21 Nov 2026 09:40 local

describe("dates", () => {
  it("accepts real calendar dates only", () => {
    expect(parseYmd("2026-02-28")).toEqual([2026, 2, 28]);
    expect(parseYmd("2028-02-29")).toEqual([2028, 2, 29]);
    expect(parseYmd("2026-02-29")).toBeNull();
    expect(parseYmd("2026-13-01")).toBeNull();
    expect(parseYmd("2026-1-01")).toBeNull();
    expect(parseYmd("1969-12-31")).toBeNull();
    expect(parseYmd("")).toBeNull();
  });

  it("adds days across months, years and leap days", () => {
    expect(addDays("2026-11-21", -29)).toBe("2026-10-23");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2028-03-01", -1)).toBe("2028-02-29");
    expect(daysBetween("2026-10-23", "2026-11-21")).toBe(29);
  });

  it("defaults to the last 30 days including today", () => {
    expect(defaultRange(now)).toEqual({ from: "2026-10-23", to: "2026-11-21" });
    expect(parseRange(new URLSearchParams(""), now)).toEqual({
      range: { from: "2026-10-23", to: "2026-11-21" },
      problems: [],
    });
  });

  it("takes the URL's range and fills a missing from with 30 days ending at to", () => {
    expect(parseRange(new URLSearchParams("from=2026-01-01&to=2026-03-31"), now).range).toEqual({
      from: "2026-01-01",
      to: "2026-03-31",
    });
    expect(parseRange(new URLSearchParams("to=2026-03-31"), now).range).toEqual({
      from: "2026-03-02",
      to: "2026-03-31",
    });
  });

  it("reports invalid, reversed and too long ranges, falling back to the default", () => {
    const bad = parseRange(new URLSearchParams("from=yesterday&to=2026-02-30"), now);
    expect(bad.problems).toHaveLength(2);
    expect(bad.range).toEqual(defaultRange(now));
    expect(parseRange(new URLSearchParams("from=2026-05-02&to=2026-05-01"), now).problems).toEqual([
      "“From” must not be after “To”",
    ]);
    expect(parseRange(new URLSearchParams("from=2025-01-01&to=2026-01-01"), now).problems).toEqual([]); // 366 days
    expect(parseRange(new URLSearchParams("from=2025-01-01&to=2026-01-02"), now).problems).toEqual([
      "The range may span at most 366 days (got 367)",
    ]);
    expect(parseRange(new URLSearchParams("from=2026-05-01&to=2026-05-01"), now).problems).toEqual([]);
  });

  it("writes both dates to the URL, keeping other parameters", () => {
    const p = rangeToParams({ from: "2026-01-01", to: "2026-01-31" }, new URLSearchParams("group=state"));
    expect(p.toString()).toBe("group=state&from=2026-01-01&to=2026-01-31");
  });

  it("sends the local midnights, the end exclusive, as UTC instants", () => {
    expect(localMidnightIso("2026-11-21")).toBe(new Date(2026, 10, 21).toISOString());
    expect(rangeToApi({ from: "2026-11-01", to: "2026-11-21" })).toEqual({
      from: new Date(2026, 10, 1).toISOString(),
      to: new Date(2026, 10, 22).toISOString(),
    });
    expect(rangeToApi({ from: "2026-11-01", to: "2026-11-21" }).to).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it("lists the UTC days an instant range touches", () => {
    expect(utcDays("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z")).toEqual([
      "2026-11-01",
      "2026-11-02",
      "2026-11-03",
    ]);
    // a local range east or west of UTC touches one more UTC day
    expect(utcDays("2026-10-31T23:00:00Z", "2026-11-02T23:00:00Z")).toEqual([
      "2026-10-31",
      "2026-11-01",
      "2026-11-02",
    ]);
    expect(utcDays("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z")).toEqual([]);
    expect(utcDays("nonsense", "2026-11-01T00:00:00Z")).toEqual([]);
  });
});
