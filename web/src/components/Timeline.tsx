// The per-speaker timeline of a call: one row per speaker over the call's duration with its
// talk spans, silences and overtalk marked across the rows, and a playhead at the audio's
// time. Clicking (or the arrow keys on the focused timeline) seeks. Positions are set with
// React style props (the CSSOM, allowed by the CSP). The layout is src/lib/timeline.ts.

import type { KeyboardEvent, MouseEvent } from "react";
import type { TimelineLayout } from "../lib/timeline";
import { mmss } from "../lib/transcript";

const pct = (n: number) => `${n.toFixed(3)}%`;

function label(speaker: string): string {
  return speaker.charAt(0).toUpperCase() + speaker.slice(1);
}

export function timelineSummary(l: TimelineLayout): string {
  const talk = l.rows.map((r) => `${label(r.speaker)} ${mmss(r.talk_ms)}`).join(", ");
  const n = (k: number, one: string, many: string) => `${k} ${k === 1 ? one : many}`;
  return `Talk time: ${talk}. ${n(l.silences.length, "silence", "silences")} over 2 s, ${n(l.overtalk.length, "overtalk span", "overtalk spans")}.`;
}

export function Timeline({ layout, timeMs, onSeek }: { layout: TimelineLayout; timeMs: number; onSeek: (ms: number) => void }) {
  const d = layout.duration_ms;
  if (d <= 0) return <p className="muted">No timeline: the call has no duration or transcript timing.</p>;
  const clamped = Math.min(Math.max(0, timeMs), d);

  function click(e: MouseEvent<HTMLDivElement>) {
    const r = e.currentTarget.getBoundingClientRect();
    if (r.width <= 0) return;
    onSeek(Math.round((Math.min(Math.max(0, e.clientX - r.left), r.width) / r.width) * d));
  }
  function key(e: KeyboardEvent<HTMLDivElement>) {
    const step = e.shiftKey ? 30_000 : 5_000;
    let t: number | null = null;
    if (e.key === "ArrowRight") t = clamped + step;
    else if (e.key === "ArrowLeft") t = clamped - step;
    else if (e.key === "Home") t = 0;
    else if (e.key === "End") t = d;
    if (t === null) return;
    e.preventDefault();
    onSeek(Math.min(Math.max(0, t), d));
  }

  return (
    <figure className="timeline" data-testid="timeline" aria-label="Call timeline">
      <div className="timeline-labels" aria-hidden="true">
        {layout.rows.map((r) => (
          <div key={r.speaker} className="timeline-label">
            {label(r.speaker)}
          </div>
        ))}
      </div>
      <div
        className="timeline-tracks"
        role="slider"
        tabIndex={0}
        aria-label="Seek in the call timeline (arrow keys: 5 s, with Shift: 30 s)"
        aria-valuemin={0}
        aria-valuemax={Math.round(d / 1000)}
        aria-valuenow={Math.round(clamped / 1000)}
        aria-valuetext={`${mmss(clamped)} of ${mmss(d)}`}
        onClick={click}
        onKeyDown={key}
      >
        {layout.silences.map((s) => (
          <div key={`s${s.start_ms}`} className="timeline-silence" style={{ left: pct(s.left), width: pct(s.width) }} title={`Silence ${mmss(s.start_ms)}–${mmss(s.end_ms)}`} />
        ))}
        {layout.overtalk.map((s) => (
          <div key={`o${s.start_ms}`} className="timeline-overtalk" style={{ left: pct(s.left), width: pct(s.width) }} title={`Overtalk ${mmss(s.start_ms)}–${mmss(s.end_ms)}`} />
        ))}
        {layout.rows.map((r, i) => (
          <div key={r.speaker} className={`timeline-row timeline-row-${i === 0 ? "agent" : i === 1 ? "customer" : "other"}`}>
            {r.spans.map((s) => (
              <div key={s.start_ms} className="timeline-span" style={{ left: pct(s.left), width: pct(s.width) }} />
            ))}
          </div>
        ))}
        <div className="timeline-playhead" data-testid="playhead" style={{ left: pct((clamped / d) * 100) }} />
      </div>
      <figcaption className="small muted" data-testid="timeline-summary">
        {timelineSummary(layout)} <span className="timeline-key timeline-key-silence">silence</span>{" "}
        <span className="timeline-key timeline-key-overtalk">overtalk</span>
      </figcaption>
    </figure>
  );
}
