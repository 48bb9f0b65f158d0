// The pages' bodies rendered to HTML (no DOM, no charts drawn: uPlot starts in an effect)
// from answers shaped like the gateway's: stable selectors, hidden chart tables, null
// values and tenant markup shown as text.
import { createElement, type ReactElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { StaticRouter } from "react-router-dom/server";
import { describe, expect, it } from "vitest";
import type { AgentDetail, Overview, PipelineStatus } from "../api/analytics";
import { AgentBody } from "./AgentDetail";
import { OverviewBody } from "./Overview";
import { PipelineBody } from "./Pipeline";

const html = (el: ReactElement) => renderToStaticMarkup(createElement(StaticRouter, { location: "/" }, el));
const count = (s: string, needle: string) => s.split(needle).length - 1;
const bench = { agent_talk_ratio: { top_reps: 0.43, risk_above: 0.65 } };
const evil = '<img src=x onerror="alert(1)">';

const overview: Overview = {
  from: "2026-11-01T00:00:00Z",
  to: "2026-11-04T00:00:00Z",
  calls: 5,
  volume_by_day: [
    { day: "2026-11-01", calls: 3 },
    { day: "2026-11-03", calls: 2 },
  ],
  volume_by_hour: [{ hour: 9, calls: 5 }],
  sentiment_distribution: { negative: 1, neutral: 1, positive: 2, unscored: 1 },
  categories: [{ category: evil, calls: 2 }],
  issue_categories: [],
  escalated_calls: 1,
  escalation_rate: 0.2,
  averages: { agent_talk_ratio: 0.5, customer_sentiment: 0.12, qa_score: null, duration_ms: 60000 },
  benchmarks: bench,
};

describe("Overview", () => {
  it("shows the figures and one chart per series with a hidden data table", () => {
    const h = html(createElement(OverviewBody, { o: overview }));
    expect(h).toContain("Average customer sentiment");
    expect(h).toContain(">0.12<");
    expect(h).toContain(">50%<");
    expect(h).toContain("20.0% of calls");
    expect(count(h, 'data-testid="chart"')).toBe(4); // per day, per hour, sentiment, categories
    expect(h).toContain('aria-label="Calls per day"');
    // three UTC days, the missing one as 0 calls, in the hidden table
    expect(count(h, '<th scope="row">')).toBe(3 + 24 + 4 + 1);
    expect(h).toContain("<td>0</td>");
    // a category name with markup is text
    expect(h).not.toContain("<img");
    expect(h).toContain("&lt;img src=x");
  });

  it("draws the per-day averages when the answer has them, days and hours in the offset asked for", () => {
    const o: Overview = {
      ...overview,
      // 1..3 Nov at UTC+05:30
      from: "2026-10-31T18:30:00Z",
      to: "2026-11-03T18:30:00Z",
      volume_by_day: [
        { day: "2026-11-01", calls: 3, avg_customer_sentiment: 0.4, avg_qa_score: 88, avg_agent_talk_ratio: 0.55 },
        { day: "2026-11-03", calls: 2, avg_customer_sentiment: null, avg_qa_score: null, avg_agent_talk_ratio: 0.6 },
      ],
    };
    const h = html(createElement(OverviewBody, { o, utcOffsetMinutes: 330 }));
    expect(count(h, 'data-testid="chart"')).toBe(7);
    expect(h).toContain('aria-label="Customer sentiment per day"');
    expect(h).toContain('aria-label="QA score per day"');
    expect(h).toContain('aria-label="Agent talk ratio per day"');
    expect(h).toContain("Days in your time zone (UTC+05:30).");
    expect(h).toContain("Calls by hour of day (your time, UTC+05:30)");
    // three local days in each of the four daily charts
    expect(count(h, '<th scope="row">')).toBe(4 * 3 + 24 + 4 + 1);
    expect(h).toContain("<td>88</td>");
    expect(h).toContain("<td>55%</td>");
    expect(h).not.toContain("UTC days");
  });

  it("says so when the range has no calls", () => {
    const h = html(createElement(OverviewBody, { o: { ...overview, calls: 0, volume_by_day: [], escalation_rate: null } }));
    expect(h).toContain("No calls in this range");
    expect(h).not.toContain('data-testid="chart"');
  });
});

describe("Agent detail", () => {
  const agent: AgentDetail = {
    id: 7,
    external_id: "A-7",
    name: "Asha",
    team: evil,
    city: "Pune",
    total_calls: 12,
    avg_sentiment: 0.3,
    avg_talk_ratio: 0.7,
    qa_score: 81.5,
    escalations: 2,
    talk_ratio_above_risk: true,
    trend: [{ call_id: 42, at: Date.UTC(2026, 10, 2, 10), talk_ratio: 0.7, sentiment: 0.3, qa_score: 81.5 }],
    daily: [{ day: "2026-11-02", calls: 1, avg_sentiment: 0.3, avg_talk_ratio: 0.7, qa_score: 81.5 }],
    benchmarks: bench,
  };

  it("charts the four daily series and links the recent calls", () => {
    const h = html(createElement(AgentBody, { a: agent, from: "2026-11-01T00:00:00Z", to: "2026-11-04T00:00:00Z" }));
    expect(count(h, 'data-testid="chart"')).toBe(4);
    expect(h).toContain("above the 65% risk level");
    expect(h).toContain('href="/calls/42"');
    expect(h).not.toContain("<img");
    // days without calls are gaps in the averages
    expect(count(h, "<td>—</td>")).toBe(2 * 3);
  });
});

describe("Pipeline", () => {
  const status: PipelineStatus = {
    calls_by_status: { pending: 1, failed: 2 },
    watermarks: [{ source: "crm", position: evil, updated_at: "2026-11-02T10:00:00Z" }],
    queues: [
      { stage: "transcribe", queue: "transcribe.b1", depth: 4, dead_letter_queue: "dlq.transcribe.b1", dead_letters: 1 },
      {
        stage: "analyze",
        queue: "analyze.b1",
        depth: null,
        dead_letter_queue: "dlq.analyze.b1",
        dead_letters: null,
        error: "unavailable",
      },
    ],
    recent_failures: [
      { id: 9, external_id: "ext-9", stage: "transcribe", reason: evil, attempts: 3, failed_at: "2026-11-02T10:00:00Z" },
    ],
  };

  it("lists each stage's queue, the broker's trouble, watermarks and failures", () => {
    const h = html(createElement(PipelineBody, { p: status }));
    expect(count(h, 'data-testid="queue-row"')).toBe(2);
    expect(count(h, 'data-testid="failure-row"')).toBe(1);
    expect(h).toContain("the broker could not be asked: unavailable");
    expect(h).toContain('href="/calls/9"');
    expect(h).not.toContain("<img");
  });

  it("says so when nothing has failed or synced", () => {
    const h = html(createElement(PipelineBody, { p: { ...status, watermarks: [], recent_failures: [] } }));
    expect(h).toContain("No failed calls");
    expect(h).toContain("No sync source has run yet");
    expect(h).toContain("No provider errors in the last 24 hours");
  });

  it("lists provider errors with their message as text, or why they could not be read", () => {
    const provider_errors = [
      {
        kind: "stt",
        provider: "deepgram",
        status: 401,
        count_1h: 40,
        count_24h: 41,
        last_at: "2026-11-02T10:00:00Z",
        last_message: evil,
      },
      { kind: "llm", provider: "openai", status: 0, count_1h: 0, count_24h: 2, last_at: null, last_message: "" },
    ];
    const h = html(createElement(PipelineBody, { p: { ...status, provider_errors } }));
    expect(count(h, 'data-testid="provider-error-row"')).toBe(2);
    expect(h.indexOf("deepgram")).toBeLessThan(h.indexOf("openai"));
    expect(h).toContain("Speech-to-text");
    expect(h).toContain("no response");
    expect(h).toContain("&lt;img");
    expect(h).not.toContain("<img");
    expect(h).not.toContain("No provider errors");
    const down = html(createElement(PipelineBody, { p: { ...status, provider_errors: [], provider_errors_error: "unavailable" } }));
    expect(down).toContain("Provider errors could not be read: unavailable");
    expect(down).not.toContain("No provider errors in the last 24 hours");
  });
});
