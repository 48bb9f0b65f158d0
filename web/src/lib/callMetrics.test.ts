import { describe, expect, it } from "vitest";
import { metricFigures, silences, talkRatioVerdict } from "./callMetrics";

const byId = (m: Record<string, unknown> | null) => Object.fromEntries(metricFigures(m).map((f) => [f.id, f]));

describe("metricFigures", () => {
  it("formats every figure from the API's metrics", () => {
    const f = byId({
      agent_talk_ms: 125_000,
      customer_talk_ms: 61_000,
      agent_talk_ratio: 0.672,
      silences: [
        { start_ms: 1000, end_ms: 4000, duration_ms: 3000 },
        { start_ms: 10_000, end_ms: 12_500, duration_ms: 2500 },
      ],
      overtalk_ms: 4200,
      overtalk_count: 3,
      agent_interruptions: 2,
      customer_interruptions: 0,
      agent_loudness_mean_dbfs: -23.46,
      agent_loudness_peak_dbfs: -3.01,
      customer_loudness_mean_dbfs: null,
      customer_loudness_peak_dbfs: null,
      agent_wpm: 151.6,
      customer_wpm: 120,
      longest_monologue_ms: 45_000,
      longest_customer_story_ms: 12_000,
      patience_ms: 640,
      question_rate_per_hour: 22.4,
      interactivity_per_min: 4.25,
    });
    expect(f.agent_talk!.value).toBe("2:05");
    expect(f.customer_talk!.value).toBe("1:01");
    expect(f.agent_talk_ratio!.value).toBe("67%");
    expect(f.agent_talk_ratio!.tone).toBe("bad");
    expect(f.silence!.value).toBe("0:06"); // 5.5 s rounded
    expect(f.silence!.hint).toBe("2 gaps over 2 s");
    expect(f.overtalk!.value).toBe("0:04");
    expect(f.overtalk!.hint).toBe("3 times");
    expect(f.agent_interruptions!.value).toBe("2");
    expect(f.customer_interruptions!.value).toBe("0");
    expect(f.agent_loudness!.value).toBe("-23.5 / -3.0 dBFS");
    expect(f.customer_loudness!.value).toBe("—");
    expect(f.agent_wpm!.value).toBe("152 wpm");
    expect(f.longest_monologue!.value).toBe("0:45");
    expect(f.patience!.value).toBe("0.6 s");
    expect(f.question_rate!.value).toBe("22 per hour");
    expect(f.interactivity!.value).toBe("4.3 turns/min");
  });

  it("shows a dash for every missing value and no silence hint without a list", () => {
    const figs = metricFigures(null);
    expect(figs.length).toBe(16);
    for (const f of figs) expect(f.value).toBe("—");
    expect(byId({}).silence!.hint).toBeUndefined();
    expect(byId({ silences: [] }).silence!.value).toBe("0:00");
    expect(byId({ agent_talk_ms: "12" }).agent_talk!.value).toBe("—");
  });
});

describe("talkRatioVerdict", () => {
  it("places the ratio against the 43% and 65% benchmarks", () => {
    expect(talkRatioVerdict(0.43)?.tone).toBe("good");
    expect(talkRatioVerdict(0.5)?.tone).toBe("warn");
    expect(talkRatioVerdict(0.65)?.tone).toBe("warn");
    expect(talkRatioVerdict(0.66)?.tone).toBe("bad");
    expect(talkRatioVerdict(null)).toBeNull();
  });
});

describe("silences", () => {
  it("keeps well-formed spans only", () => {
    expect(silences({ silences: [{ start_ms: 5, end_ms: 9 }, { start_ms: 9, end_ms: 2 }, null, { start_ms: "a" }] })).toEqual([
      { start_ms: 5, end_ms: 9 },
    ]);
    expect(silences({ silences: "x" })).toEqual([]);
  });
});
