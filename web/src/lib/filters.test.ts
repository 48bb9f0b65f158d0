import { describe, expect, it } from "vitest";
import { filtersOnlyQuery, filtersToQuery, queryToFilters, type CallFilters } from "./filters";

describe("filtersToQuery", () => {
  it("writes every filter in a fixed order", () => {
    const f: CallFilters = {
      order: "asc",
      sort: "qa_score",
      q: "refund please",
      sentiment_max: 0.5,
      sentiment_min: -0.25,
      language: "hi",
      category_id: 12,
      qa_max: 0.9,
      qa_min: 0.5,
      direction: "outbound",
      talk_ratio_max: 0.65,
      talk_ratio_min: 0.2,
      agent_id: 7,
      city: "Pune",
      category: "billing",
      status: "analyzed",
      to: "2026-11-30",
      from: "2026-11-01",
    };
    expect(filtersToQuery(f)).toBe(
      "from=2026-11-01&to=2026-11-30&status=analyzed&category=billing&city=Pune&agent_id=7" +
        "&sentiment_min=-0.25&sentiment_max=0.5&talk_ratio_min=0.2&talk_ratio_max=0.65&language=hi" +
        "&direction=outbound&qa_min=0.5&qa_max=0.9&category_id=12&q=refund+please&sort=qa_score&order=asc",
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

describe("filtersOnlyQuery", () => {
  it("drops sort and order (the bulk reprocess route refuses them) and keeps every filter", () => {
    expect(filtersOnlyQuery({ status: "failed", language: "hi", talk_ratio_min: 0.5, sort: "duration", order: "asc" })).toBe(
      "status=failed&talk_ratio_min=0.5&language=hi",
    );
    expect(filtersOnlyQuery({ sort: "duration" })).toBe("");
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
      talk_ratio_min: 0,
      talk_ratio_max: 1,
      language: "en-IN",
      direction: "unknown",
      qa_min: 0,
      qa_max: 1,
      category_id: 3,
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

  it("reads the language and talk ratio filters and reports their invalid values", () => {
    expect(queryToFilters("language=hi&talk_ratio_min=0.25&talk_ratio_max=1").filters).toEqual({
      language: "hi",
      talk_ratio_min: 0.25,
      talk_ratio_max: 1,
    });
    for (const v of ["-0.1", "1.5", "abc", "50%"]) {
      const r = queryToFilters(`talk_ratio_min=${encodeURIComponent(v)}`);
      expect(r.filters.talk_ratio_min, v).toBeUndefined();
      expect(r.problems[0]?.message, v).toMatch(/from 0 to 1/);
    }
    const long = queryToFilters(`language=${"x".repeat(17)}`);
    expect(long.filters.language).toBeUndefined();
    expect(long.problems[0]?.message).toMatch(/16/);
  });

  it("reads direction, the QA score range (0 to 1) and the rule category id", () => {
    expect(queryToFilters("direction=inbound&qa_min=0.25&qa_max=0.75&category_id=42")).toEqual({
      filters: { direction: "inbound", qa_min: 0.25, qa_max: 0.75, category_id: 42 },
      problems: [],
    });
    expect(filtersOnlyQuery({ direction: "outbound", qa_max: 0.5, category_id: 7, sort: "qa_score" })).toBe(
      "direction=outbound&qa_max=0.5&category_id=7",
    );
  });

  it("reports invalid direction, QA score and category id values", () => {
    const dir = queryToFilters("direction=sideways");
    expect(dir.filters).toEqual({});
    expect(dir.problems[0]?.message).toMatch(/inbound, outbound, unknown/);
    // A score on a 0-100 scale is refused: the API's scale is 0 to 1.
    for (const v of ["80", "-0.1", "1.01", "abc", "50%"]) {
      const r = queryToFilters(`qa_min=${encodeURIComponent(v)}`);
      expect(r.filters.qa_min, v).toBeUndefined();
      expect(r.problems[0]?.message, v).toMatch(/qa_min must be a number from 0 to 1/);
    }
    for (const v of ["0", "-1", "1.5", "abc"]) {
      const r = queryToFilters(`category_id=${v}`);
      expect(r.filters.category_id, v).toBeUndefined();
      expect(r.problems[0]?.message, v).toMatch(/category_id must be a whole number/);
    }
  });

  it("reports a QA score range that can match nothing", () => {
    const r = queryToFilters("qa_min=0.9&qa_max=0.1");
    expect(r.filters).toEqual({ qa_min: 0.9, qa_max: 0.1 });
    expect(r.problems.map((p) => p.key)).toEqual(["qa_min"]);
  });

  it("reports a talk ratio range that can match nothing", () => {
    const r = queryToFilters("talk_ratio_min=0.8&talk_ratio_max=0.2");
    expect(r.problems.map((p) => p.key)).toEqual(["talk_ratio_min"]);
  });
});
