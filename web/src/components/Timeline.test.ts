// The timeline rendered to HTML (no DOM): its accessible name, the summary text, the spans,
// silences, overtalk and the playhead placed by percentage.
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { layoutTimeline } from "../lib/timeline";
import type { Segment } from "../lib/transcript";
import { Timeline, timelineSummary } from "./Timeline";

const seg = (speaker: string, start_ms: number, end_ms: number): Segment => ({ speaker, start_ms, end_ms, text: "" });
const count = (s: string, needle: string) => s.split(needle).length - 1;

describe("Timeline", () => {
  const layout = layoutTimeline([seg("agent", 0, 30000), seg("customer", 25000, 40000), seg("agent", 60000, 90000)], 100000);

  it("summarises talk time per speaker, silences and overtalk", () => {
    expect(timelineSummary(layout)).toBe("Talk time: Agent 01:00, Customer 00:15. 2 silences over 2 s, 1 overtalk span.");
  });

  it("renders one row per speaker with its spans, the marks and the playhead", () => {
    const h = renderToStaticMarkup(createElement(Timeline, { layout, timeMs: 50000, onSeek: () => undefined }));
    expect(h).toContain('aria-label="Call timeline"');
    expect(h).toContain('role="slider"');
    expect(h).toContain('aria-valuetext="00:50 of 01:40"');
    expect(count(h, 'class="timeline-span"')).toBe(3);
    expect(count(h, 'class="timeline-silence"')).toBe(2);
    expect(count(h, 'class="timeline-overtalk"')).toBe(1);
    expect(h).toContain('class="timeline-overtalk" style="left:25.000%;width:5.000%"');
    expect(h).toMatch(/data-testid="playhead" style="left:50.000%"/);
    expect(h).toContain("1 overtalk span");
  });

  it("keeps the playhead inside the call and says when there is nothing to draw", () => {
    const h = renderToStaticMarkup(createElement(Timeline, { layout, timeMs: 500000, onSeek: () => undefined }));
    expect(h).toMatch(/data-testid="playhead" style="left:100.000%"/);
    const e = renderToStaticMarkup(createElement(Timeline, { layout: layoutTimeline([], 0), timeMs: 0, onSeek: () => undefined }));
    expect(e).toContain("No timeline");
  });
});
