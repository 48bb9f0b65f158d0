import { describe, expect, it } from "vitest";
import { audioUrlFallback, needsRenewal, parseSignedAudio } from "./callAudio";
import { nudgeText, parseRecommendations, parseSimilar, unavailable } from "./callRelated";

describe("similar calls", () => {
  it("reads the answer and drops malformed items", () => {
    const s = parseSimilar({
      call_id: 5,
      indexed: true,
      items: [
        { call_id: 9, score: 0.91, started_at: "2026-11-01T10:00:00Z", status: "analyzed", issue_category: "billing", duration_ms: 60000, human_agent: { id: 4, name: null }, qa_score: 0.8, outcome: "refunded" },
        { call_id: "x" },
        { call_id: 10, human_agent: { id: 2, name: "Ana" } },
      ],
    });
    expect(s.indexed).toBe(true);
    expect(s.items.map((i) => [i.call_id, i.agent])).toEqual([
      [9, "Agent 4"],
      [10, "Ana"],
    ]);
    expect(s.items[1]!.score).toBeNull();
    expect(parseSimilar({ indexed: false, items: [] })).toEqual({ indexed: false, items: [] });
    expect(parseSimilar(null)).toEqual({ indexed: true, items: [] });
  });

  it("treats 503 and 404 as not available", () => {
    expect(unavailable(503)).toBe(true);
    expect(unavailable(404)).toBe(true);
    expect(unavailable(500)).toBe(false);
  });
});

describe("coaching nudges", () => {
  const r = parseRecommendations({
    indexed: true,
    examples: [{ call_id: 88, score: 0.7 }],
    nudges: [
      { metric: "agent_talk_ratio", name: null, value: 0.72, example_value: 0.41, example_call_id: 88, advice: "Let the customer talk more." },
      { metric: "category", name: "Empathy", value: false, example_value: true, example_call_id: 88, advice: "" },
      { metric: "qa_answer", name: "Basics/greet", value: "no", example_value: "yes", example_call_id: 88, advice: "" },
      { metric: "patience_ms", value: 200, example_value: 900 },
      { metric: "longest_monologue_ms", value: 95000, example_value: 30000, example_call_id: 88 },
    ],
  });

  it("words each nudge with both values", () => {
    expect(r.examples.map((e) => e.call_id)).toEqual([88]);
    expect(r.nudges.map(nudgeText)).toEqual([
      { title: "Agent talk ratio", compare: "72% here, 41% in call 88" },
      { title: "Category Empathy", compare: "not matched here, matched in call 88" },
      { title: "QA question Basics/greet", compare: "no here, yes in call 88" },
      { title: "Patience", compare: "0.2 s here, 0.9 s in the example" },
      { title: "Longest monologue", compare: "1:35 here, 0:30 in call 88" },
    ]);
    expect(r.nudges[0]!.advice).toBe("Let the customer talk more.");
  });
});

describe("signed audio URL", () => {
  const now = Date.parse("2026-11-01T10:00:00Z");
  it("accepts the API's own audio path and its expiry", () => {
    expect(parseSignedAudio({ url: "/api/v1/calls/7/audio?exp=1&sig=ab", expires_at: "2026-11-01T10:05:00Z" }, now)).toEqual({
      url: "/api/v1/calls/7/audio?exp=1&sig=ab",
      expiresAt: now + 300_000,
    });
    expect(parseSignedAudio({ url: "/api/v1/calls/7/audio?x", expires_at: now / 1000 + 60 }, now)!.expiresAt).toBe(now + 60_000);
    expect(parseSignedAudio({ url: "/api/v1/calls/7/audio?x" }, now)!.expiresAt).toBeNull();
  });

  it("refuses other URLs and expired ones", () => {
    expect(parseSignedAudio({ url: "https://evil.example/a.wav" }, now)).toBeNull();
    expect(parseSignedAudio({ url: "javascript:alert(1)" }, now)).toBeNull();
    expect(parseSignedAudio({ url: "/api/v1/calls/7/audio?x", expires_at: "2026-11-01T09:59:59Z" }, now)).toBeNull();
    expect(parseSignedAudio("x", now)).toBeNull();
  });

  it("renews within the margin and falls back when the route is absent", () => {
    const a = { url: "/api/v1/calls/1/audio?s", expiresAt: now + 20_000 };
    expect(needsRenewal(a, now)).toBe(false);
    expect(needsRenewal(a, now + 10_000)).toBe(true);
    expect(needsRenewal({ ...a, expiresAt: null }, now + 1e9)).toBe(false);
    expect(audioUrlFallback(404)).toBe("blob");
    expect(audioUrlFallback(405)).toBe("blob");
    expect(audioUrlFallback(500)).toBe("error");
    expect(audioUrlFallback(403)).toBe("error");
  });
});
