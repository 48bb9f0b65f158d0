import { describe, expect, it } from "vitest";
import type { Analysis } from "../api/types";
import { agentTitle, builtinKind, humanize, parseQa, sortAnalyses } from "./callAnalyses";
import { MAX_DEPTH, outputTree, treeText, type OutNode } from "./callOutput";

describe("outputTree", () => {
  it("renders an LLM agent's output as lists, tables and Yes/No", () => {
    const t = outputTree({
      summary: "Refund agreed",
      bant: { budget: true, authority: false, need: "new router", timeline: null },
      objections: ["price", "contract length"],
      sop_steps: [
        { step: "greeting", done: true, score: 0.5 },
        { step: "verification", done: false },
      ],
      score: 1234.5678,
    });
    expect(t.t).toBe("dl");
    expect(treeText(t)).toBe(
      [
        "Summary: Refund agreed",
        "BANT: Budget: Yes",
        "Authority: No",
        "Need: new router",
        "Timeline: —",
        "Objections: • price",
        "• contract length",
        "SOP steps: Step | Done | Score",
        "greeting | Yes | 0.5",
        "verification | No | —",
        "Score: 1,234.568",
      ].join("\n"),
    );
  });

  it("uses nested lists for arrays of nested objects and says none/empty", () => {
    const t = outputTree([{ a: { b: 1 } }, [], {}]);
    expect(t).toEqual({
      t: "list",
      items: [
        { t: "dl", entries: [{ key: "a", label: "A", value: { t: "dl", entries: [{ key: "b", label: "B", value: { t: "text", text: "1" } }] } }] },
        { t: "text", text: "none", muted: true },
        { t: "text", text: "empty", muted: true },
      ],
    });
  });

  it("stops at the depth limit and caps long lists", () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 50; ++i) deep = { k: deep };
    let n: OutNode = outputTree(deep);
    let levels = 0;
    while (n.t === "dl") {
      n = n.entries[0]!.value;
      ++levels;
    }
    expect(levels).toBe(MAX_DEPTH);
    expect(n).toEqual({ t: "text", text: "…", muted: true });
    const long = outputTree(Array.from({ length: 250 }, (_, i) => i));
    expect(long.t === "list" && long.items.length).toBe(201);
    expect(long.t === "list" && treeText(long.items[200]!)).toBe("… and 50 more");
  });

  it("keeps markup as plain strings", () => {
    expect(outputTree({ note: "<img src=x onerror=alert(1)>" })).toEqual({
      t: "dl",
      entries: [{ key: "note", label: "Note", value: { t: "text", text: "<img src=x onerror=alert(1)>" } }],
    });
  });
});

const an = (output: unknown, extra: Partial<Analysis> = {}): Analysis => ({
  id: 1,
  agent_config_id: 7,
  agent_version: 1,
  output,
  model: "builtin",
  created_at: "2026-11-01T00:00:00Z",
  ...extra,
});

describe("sortAnalyses", () => {
  it("recognises builtins by shape when the agent name is absent", () => {
    expect(builtinKind(an({ segments: [0.1], agent: {}, customer: {} }))).toBe("sentiment");
    expect(builtinKind(an({ matches: [] }))).toBe("categories");
    expect(builtinKind(an({ score: null, scorecards: [] }))).toBe("qa");
    expect(builtinKind(an({ summary: "", issue: "", resolution: "", outcome: "unknown" }))).toBe("summary");
    expect(builtinKind(an({ counts: {}, redacted_segments: [] }))).toBe("pii");
    // an LLM agent answering a summary-shaped object is not the builtin
    expect(builtinKind(an({ summary: "x", outcome: "y" }, { model: "gpt-4o-mini" }))).toBeNull();
  });

  it("trusts the agent name when present", () => {
    expect(builtinKind(an({ matches: [] }, { agent: "objections" }))).toBeNull();
    expect(builtinKind(an({}, { agent: "builtin.qa" }))).toBe("qa");
    expect(builtinKind(an({}, { agent: "builtin.unknown" }))).toBeNull();
  });

  it("parses each builtin and keeps the other agents in order", () => {
    const s = sortAnalyses([
      an({ matches: [{ id: 3, name: "Refund", spans: [{ start_ms: 9, end_ms: 4 }, { start_ms: "x" }] }] }),
      an({ coaching: ["slow down"] }, { model: "m1", id: 2 }),
      an({ counts: { phone: 2, bad: "x" }, redacted_segments: [{}, {}] }),
      an({ bant: {} }, { model: "m2", id: 3, agent: "bant" }),
    ]);
    expect(s.categories).toEqual([{ id: 3, name: "Refund", spans: [{ start_ms: 4, end_ms: 9 }] }]);
    expect(s.pii).toEqual({ counts: { phone: 2 }, redactedSegments: 2 });
    expect(s.others.map((a) => a.id)).toEqual([2, 3]);
    expect(s.sentiment).toBeNull();
    expect(agentTitle(s.others[1]!)).toBe("BANT");
    expect(agentTitle(s.others[0]!)).toBe("Agent 7");
  });

  it("reads QA answers with or without their question text", () => {
    const qa = parseQa({
      score: 0.75,
      scorecards: [{ scorecard_id: 2, name: "Basics", score: 0.75, answers: [{ id: "greet", answer: "yes", weight: 2, text: "Greeted?" }, { id: "close", answer: "n/a" }] }],
    })!;
    expect(qa.score).toBe(0.75);
    expect(qa.scorecards[0]!.answers).toEqual([
      { id: "greet", answer: "yes", weight: 2, text: "Greeted?" },
      { id: "close", answer: "n/a", weight: null, text: null },
    ]);
  });
});

describe("humanize", () => {
  it("turns keys into labels", () => {
    expect(humanize("sop_adherence")).toBe("SOP adherence");
    expect(humanize("nextBestAction")).toBe("Next best action");
    expect(humanize("scorecard_id")).toBe("Scorecard ID");
    expect(humanize("__")).toBe("__");
  });
});

describe("QA formatting", async () => {
  const { answerTone, formatQaScore } = await import("./callAnalyses");
  it("shows the builtin 0..1 score as a percentage and other scales as they are", () => {
    expect(formatQaScore(0.755)).toBe("76%");
    expect(formatQaScore(1)).toBe("100%");
    expect(formatQaScore(0)).toBe("0%");
    expect(formatQaScore(87.25)).toBe("87.3");
    expect(formatQaScore(null)).toBe("—");
  });
  it("gives each answer its badge", () => {
    expect(answerTone("yes")).toBe("yes");
    expect(answerTone("No")).toBe("no");
    expect(answerTone("n/a")).toBe("na");
    expect(answerTone("")).toBe("na");
  });
});
