// The sentiment chart of one call (loaded with React.lazy, so uPlot's chunk comes only with
// it): x is the time into the call, y the sentiment -1..1; a point per scored transcript line
// for each speaker, and each speaker's quarter averages as a dashed step line. Clicking the
// chart seeks the recording and the transcript there. The canvas is hidden from assistive
// technology; the summary above it and the quarter buttons below carry the same content.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { SentimentSeries } from "../lib/callSentiment";
import { mmss } from "../lib/transcript";

const AGENT = "#0b5cad";
const CUSTOMER = "#bc4c00";
const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(2));

function options(width: number): uPlot.Options {
  const axis = "#59616b";
  const grid = { stroke: "#eef0f3", width: 1 };
  const stepped = uPlot.paths.stepped!({ align: 1 });
  return {
    width,
    height: 200,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, y: { range: [-1, 1] } },
    series: [
      { label: "Time", value: (_u, v) => (v === null ? "—" : mmss(v * 1000)) },
      { label: "Agent", stroke: AGENT, width: 1.5, spanGaps: true, points: { show: true, size: 5 }, value: (_u, v) => fmt(v) },
      { label: "Customer", stroke: CUSTOMER, width: 1.5, spanGaps: true, points: { show: true, size: 5 }, value: (_u, v) => fmt(v) },
      { label: "Agent by quarter", stroke: AGENT, width: 1, dash: [6, 4], paths: stepped, points: { show: false }, value: (_u, v) => fmt(v) },
      { label: "Customer by quarter", stroke: CUSTOMER, width: 1, dash: [6, 4], paths: stepped, points: { show: false }, value: (_u, v) => fmt(v) },
    ],
    axes: [
      { stroke: axis, grid, values: (_u, splits) => splits.map((s) => mmss(s * 1000)) },
      { stroke: axis, grid, size: 44, values: (_u, splits) => splits.map((v) => v.toFixed(1)) },
    ],
  };
}

export default function CallSentimentChart({ series, onSeek }: { series: SentimentSeries; onSeek: (ms: number) => void }) {
  const box = useRef<HTMLDivElement>(null);
  const seekRef = useRef(onSeek);
  seekRef.current = onSeek;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(200, Math.floor(el.clientWidth));
    const data: uPlot.AlignedData = [series.x, series.agent, series.customer, series.agentQuarter, series.customerQuarter];
    const plot = new uPlot(options(width()), data, el);
    const click = () => {
      const left = plot.cursor.left;
      if (left === undefined || left < 0) return;
      const x = plot.posToVal(left, "x");
      if (Number.isFinite(x)) seekRef.current(Math.max(0, Math.min(series.durationMs, Math.round(x * 1000))));
    };
    plot.over.addEventListener("click", click);
    let last = width();
    const ro = new ResizeObserver(() => {
      const w = width();
      if (w !== last) {
        last = w;
        plot.setSize({ width: w, height: 200 });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.over.removeEventListener("click", click);
      plot.destroy();
    };
  }, [series]);

  return (
    <figure className="chart card call-sentiment-chart" data-testid="sentiment-chart" aria-label="Sentiment over the call">
      <figcaption className="chart-title">Sentiment over the call</figcaption>
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      <p className="muted small chart-note">-1 negative to 1 positive; dashed: each quarter's average. Click to play from there.</p>
    </figure>
  );
}
