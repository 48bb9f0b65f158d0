// The call page's sections rendered to HTML (no DOM; the sentiment chart is lazy and not
// drawn): selectors, states and tenant markup as text.
import { createElement, type ReactElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { StaticRouter } from "react-router-dom/server";
import { describe, expect, it } from "vitest";
import type { Analysis } from "../api/types";
import { parseCategories, parseQa, parseSentiment, parseSummary } from "../lib/callAnalyses";
import type { Segment } from "../lib/transcript";
import { TranscriptSection } from "../pages/CallDetail";
import { CallCategories } from "./CallCategories";
import { CallFigures } from "./CallFigures";
import { AgentOutput, CallSummary } from "./CallOutput";
import { CallQa } from "./CallQa";
import { CallSentiment } from "./CallSentiment";

const html = (el: ReactElement) => renderToStaticMarkup(createElement(StaticRouter, { location: "/" }, el));
const count = (s: string, needle: string) => s.split(needle).length - 1;
const evil = '<img src=x onerror="alert(1)">';
const noop = () => undefined;

describe("call sections", () => {
  it("figures: one card per figure, dashes for missing values, raw metrics toggle", () => {
    const h = html(createElement(CallFigures, { metrics: { agent_talk_ratio: 0.7, agent_talk_ms: 60000 } }));
    expect(h).toContain('data-testid="call-figures"');
    expect(count(h, "data-figure=")).toBe(16);
    expect(h).toContain('class="stat card tone-bad" data-figure="agent_talk_ratio"');
    expect(h).toContain(">70%<");
    expect(h).toContain("<summary>Raw metrics</summary>");
    expect(html(createElement(CallFigures, { metrics: null }))).toContain("No metrics yet.");
  });

  it("QA: the overall score and each answer with its badge", () => {
    const qa = parseQa({
      score: 0.5,
      scorecards: [{ scorecard_id: 1, name: evil, score: 0.5, answers: [{ id: "greet", answer: "yes", weight: 2, text: "Did the agent greet?" }, { id: "close", answer: "no", weight: 1 }] }],
    });
    const h = html(createElement(CallQa, { qa, fallbackScore: null }));
    expect(h).toContain('data-testid="qa-score">50%<');
    expect(count(h, 'data-testid="qa-answer"')).toBe(2);
    expect(h).toContain("Did the agent greet?");
    expect(h).toContain('class="badge answer-no">no<');
    expect(h).not.toContain("<img");
    expect(html(createElement(CallQa, { qa: null, fallbackScore: 0.8 }))).toContain(">80%<");
  });

  it("categories: chips, and the chosen one's spans", () => {
    const matches = parseCategories({ matches: [{ id: 1, name: "Refund", spans: [{ start_ms: 61000, end_ms: 65000 }] }, { id: 2, name: evil, spans: [] }] });
    const h = html(createElement(CallCategories, { matches, selected: 0, hits: 3, onSelect: noop, onSeek: noop }));
    expect(count(h, 'data-testid="category-chip"')).toBe(2);
    expect(h).toContain('aria-pressed="true"');
    expect(h).toContain("01:01–01:05");
    expect(h).toContain("3 transcript lines highlighted");
    expect(h).not.toContain("<img");
    expect(html(createElement(CallCategories, { matches: [], selected: -1, hits: 0, onSelect: noop, onSeek: noop }))).toContain("No category matched");
  });

  it("summary and an LLM agent's output as text", () => {
    const s = html(createElement(CallSummary, { summary: parseSummary({ summary: evil, issue: "billing", resolution: "", outcome: "callback_scheduled" }) }));
    expect(s).toContain('data-testid="call-summary"');
    expect(s).toContain("Callback scheduled");
    expect(s).not.toContain("<img");
    const a: Analysis = { id: 9, agent_config_id: 4, agent_version: 2, model: "m", created_at: "2026-11-01T00:00:00Z", agent: "objections", output: { objections: [evil], resolved: true } };
    const h = html(createElement(AgentOutput, { a }));
    expect(h).toContain("<h3>Objections");
    expect(h).toContain(">Yes<");
    expect(h).toContain("<summary>Raw JSON</summary>");
    expect(h).not.toContain("<img");
    expect(h).toContain("&lt;img src=x");
  });

  it("sentiment: the text summary and quarter buttons", () => {
    const sentiment = parseSentiment({ segments: [0.5], agent: { call: 0.5, quarters: [0.5, null, null, null] }, customer: { call: null, quarters: [] } });
    const segs: Segment[] = [{ speaker: "agent", start_ms: 0, end_ms: 4000, text: "hi" }];
    const h = html(createElement(CallSentiment, { sentiment, segs, durationMs: 80000, onSeek: noop }));
    expect(h).toContain('data-testid="sentiment-summary"');
    expect(h).toContain("Agent: 0.50 (positive) over the call");
    expect(h).toContain("Q3 · 00:40");
    expect(html(createElement(CallSentiment, { sentiment: null, segs, durationMs: 0, onSeek: noop }))).toContain("No sentiment analysis yet.");
  });

  it("transcript: lines of the chosen category are marked", () => {
    const segs: Segment[] = [
      { speaker: "agent", start_ms: 0, end_ms: 1000, text: "a" },
      { speaker: "customer", start_ms: 1000, end_ms: 2000, text: evil },
    ];
    const h = html(
      createElement(TranscriptSection, {
        callId: 1,
        load: { state: "ok", data: { call_id: 1, language: "en", provider: "x", segments: segs, text: "" } },
        segs,
        current: -1,
        hits: new Set([1]),
        scrollTo: -1,
        onLine: noop,
      }),
    );
    expect(count(h, 'data-testid="transcript-line"')).toBe(2);
    expect(count(h, 'data-category-hit="true"')).toBe(1);
    expect(h).toContain('class="speaker-other category-hit" data-category-hit="true"');
    expect(h).not.toContain("<img");
  });
});
