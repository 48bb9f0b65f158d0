import { describe, expect, it } from "vitest";
import {
  clockTime,
  mmss,
  normalizeSegments,
  transcriptToJson,
  transcriptToSrt,
  transcriptToTxt,
  type Segment,
} from "./transcript";

const segs: Segment[] = [
  { speaker: "agent", start_ms: 0, end_ms: 2500, text: "Hello, how can I help?" },
  { speaker: "customer", start_ms: 62345, end_ms: 65000, text: "I want a refund." },
];

describe("times", () => {
  it("writes SRT timestamps", () => {
    expect(clockTime(62345)).toBe("00:01:02,345");
    expect(clockTime(0)).toBe("00:00:00,000");
    expect(clockTime(3_723_004)).toBe("01:02:03,004");
    expect(clockTime(62345, ".")).toBe("00:01:02.345");
  });
  it("writes mm:ss", () => {
    expect(mmss(62345)).toBe("01:02");
    expect(mmss(999)).toBe("00:00");
    expect(mmss(3_723_000)).toBe("62:03");
    expect(mmss(-5)).toBe("00:00");
  });
});

describe("exports", () => {
  it("TXT: one line per segment", () => {
    expect(transcriptToTxt(segs)).toBe(
      "[00:00:00.000] agent: Hello, how can I help?\n[00:01:02.345] customer: I want a refund.\n",
    );
  });

  it("SRT: numbered cues with start --> end", () => {
    expect(transcriptToSrt(segs)).toBe(
      "1\n00:00:00,000 --> 00:00:02,500\nagent: Hello, how can I help?\n\n" +
        "2\n00:01:02,345 --> 00:01:05,000\ncustomer: I want a refund.\n\n",
    );
  });

  it("SRT: a cue never ends before it starts and text blank lines do not split a cue", () => {
    const srt = transcriptToSrt([{ speaker: "a", start_ms: 5000, end_ms: 1000, text: "one\n\ntwo" }]);
    expect(srt).toBe("1\n00:00:05,000 --> 00:00:05,000\na: one\ntwo\n\n");
  });

  it("JSON: parses back to the segments", () => {
    const j = JSON.parse(transcriptToJson(42, "en", "deepgram", segs));
    expect(j).toEqual({ call_id: 42, language: "en", provider: "deepgram", segments: segs });
  });

  it("empty transcript: empty files", () => {
    expect(transcriptToTxt([])).toBe("");
    expect(transcriptToSrt([])).toBe("");
  });
});

describe("normalizeSegments", () => {
  it("fills missing or mistyped fields and skips non-objects", () => {
    expect(
      normalizeSegments([
        { speaker: 1, start_ms: "3", text: 5 },
        null,
        "x",
        { speaker: "agent", start_ms: 1.7, end_ms: 9, text: "hi", confidence: 0.9 },
      ]),
    ).toEqual([
      { speaker: "1", start_ms: 0, end_ms: 0, text: "" },
      { speaker: "agent", start_ms: 1, end_ms: 9, text: "hi", confidence: 0.9 },
    ]);
    expect(normalizeSegments({ segments: [] })).toEqual([]);
  });
});
