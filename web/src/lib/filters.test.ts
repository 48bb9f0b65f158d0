import { describe, expect, it } from "vitest";
import { filtersToQuery, queryToFilters, type CallFilters } from "./filters";

describe("filtersToQuery", () => {
  it("writes every filter in a fixed order", () => {
    const f: CallFilters = {
      order: "asc",
      sort: "qa_score",
      q: "refund please",
      sentiment_max: 0.5,
      sentiment_min: -0.25,
      agent_id: 7,
      city: "Pune",
      category: "billing",
      status: "analyzed",
      to: "2026-11-30",
      from: "2026-11-01",
    };
    expect(filtersToQuery(f)).toBe(
      "from=2026-11-01&to=2026-11-30&status=analyzed&category=billing&city=Pune&agent_id=7" +
        "&sentiment_min=-0.25&sentiment_max=0.5&q=refund+please&sort=qa_score&order=asc",
    );
  });

  it("drops empty values and trims text", () => {
    expect(filtersToQuery({ q: "  ", city: "", category: " a b ", agent_id: NaN })).toBe("category=a+b");
    expect(filtersToQuery({})).toBe("");
  });

  it("keeps zero", () => {
    expect(filtersToQuery({ sentiment_min: 0 })).toBe("sentiment_min=0");
  });

  it("escapes characters that would break the query", () => {
    expect(filtersToQuery({ q: "a&b=c#d" })).toBe("q=a%26b%3Dc%23d");
  });
});

describe("queryToFilters", () => {
  it("round-trips filtersToQuery", () => {
    const f: CallFilters = {
      from: "2026-02-28",
      to: "2026-03-01",
      status: "failed",
      category: "billing & refunds",
      city: "São Paulo",
      agent_id: 12,
      sentiment_min: -1,
      sentiment_max: 0,
      q: "cancel my plan",
      sort: "duration",
      order: "desc",
    };
    const back = queryToFilters(filtersToQuery(f));
    expect(back.problems).toEqual([]);
    expect(back.filters).toEqual(f);
  });

  it("accepts a leading ? and drops empty values", () => {
    expect(queryToFilters("?city=&q=&status=pending")).toEqual({ filters: { status: "pending" }, problems: [] });
  });

  it("reports invalid values instead of dropping them silently", () => {
    const r = queryToFilters(
      "status=done&agent_id=0&sentiment_min=2&from=2026-02-30&sort=name&order=up&to=yesterday&bogus=1",
    );
    expect(r.filters).toEqual({});
    expect(r.problems.map((p) => p.key).sort()).toEqual(
      ["agent_id", "bogus", "from", "order", "sentiment_min", "sort", "status", "to"].sort(),
    );
    expect(r.problems.find((p) => p.key === "status")?.message).toMatch(/pending/);
  });

  it("rejects agent ids that are not whole numbers", () => {
    for (const v of ["1.5", "-3", "abc", "1e3", "99999999999999999999"]) {
      const r = queryToFilters(`agent_id=${v}`);
      expect(r.filters.agent_id, v).toBeUndefined();
      expect(r.problems).toHaveLength(1);
    }
  });

  it("reports a repeated key and keeps the first value", () => {
    const r = queryToFilters("city=Pune&city=Delhi");
    expect(r.filters.city).toBe("Pune");
    expect(r.problems).toHaveLength(1);
  });

  it("reports ranges that can match nothing", () => {
    const r = queryToFilters("sentiment_min=0.5&sentiment_max=-0.5&from=2026-12-01&to=2026-11-01");
    expect(r.filters.sentiment_min).toBe(0.5);
    expect(r.problems.map((p) => p.key)).toEqual(["sentiment_min", "from"]);
  });

  it("refuses text longer than the API allows", () => {
    const r = queryToFilters(`q=${"a".repeat(257)}`);
    expect(r.filters.q).toBeUndefined();
    expect(r.problems[0]?.message).toMatch(/256/);
  });
});
