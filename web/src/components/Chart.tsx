// A uPlot chart: created on mount, re-created when its data changes, resized with its
// container, destroyed on unmount. The canvas is hidden from assistive technology; the
// figure carries the accessible name and a visually hidden table of the same numbers.
// uPlot draws on a canvas and writes legend text as text nodes: tenant text stays text.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  color: string;
  // The value as shown in the legend and the hidden table (default: as is, "—" for a gap).
  format?: (v: number) => string;
  range?: [number, number]; // fixed y range (e.g. sentiment -1..1)
}

export type ChartKind =
  | { type: "days" } // x: Unix seconds at UTC midnights of the days the API names (its days are local with utc_offset_minutes)
  | { type: "bars"; labels: string[] }; // x: bar index

interface Props {
  title: string; // the accessible name; also the visible caption
  data: [number[], ...(number | null)[][]];
  series: ChartSeries[];
  kind: ChartKind;
  height?: number;
  note?: string; // a line under the chart (units, time zone)
}

const utcDay = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", timeZone: "UTC" });
const utcDayLong = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

function fmt(s: ChartSeries, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return s.format ? s.format(v) : String(v);
}

export function xText(kind: ChartKind, x: number): string {
  if (kind.type === "bars") return kind.labels[x] ?? "";
  return utcDayLong.format(new Date(x * 1000));
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

function options(props: Props, width: number): uPlot.Options {
  const { kind, series } = props;
  const bars = kind.type === "bars";
  const axisStroke = "#59616b";
  const grid = { stroke: "#eef0f3", width: 1 };
  const ys: uPlot.Series[] = series.map((s, i) => ({
    label: s.label,
    stroke: s.color,
    fill: bars ? s.color + "cc" : undefined,
    width: bars ? 1 : 2,
    scale: i === 0 ? "y" : `y${i}`,
    spanGaps: false,
    points: { show: !bars, size: 5 },
    paths: bars ? uPlot.paths.bars!({ size: [0.7, 48], align: 0 }) : undefined,
    value: (_u: uPlot, v: number | null) => fmt(s, v),
  }));
  const scales: uPlot.Scales = bars
    ? { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } }
    : { x: { time: true } };
  series.forEach((s, i) => {
    const key = i === 0 ? "y" : `y${i}`;
    scales[key] = s.range ? { range: s.range } : bars ? { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } : {};
  });
  const xAxis: uPlot.Axis = bars
    ? {
        stroke: axisStroke,
        grid: { show: false },
        splits: (u) => (u.data[0] as number[]).slice(),
        values: (_u, splits) => splits.map((i) => clip(kind.labels[i] ?? "", 14)),
        rotate: kind.labels.length > 6 || width < 500 ? -40 : 0,
        size: kind.labels.length > 6 || width < 500 ? 80 : 40,
      }
    : {
        stroke: axisStroke,
        grid,
        values: (_u, splits) => splits.map((x) => utcDay.format(new Date(x * 1000))),
      };
  return {
    width,
    height: props.height ?? 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales,
    series: [{ label: bars ? "" : "Day", value: (_u, v) => (v === null ? "—" : xText(kind, v)) }, ...ys],
    axes: [
      xAxis,
      ...series.map((s, i) => ({
        scale: i === 0 ? "y" : `y${i}`,
        side: i === 0 ? 3 : 1,
        stroke: axisStroke,
        grid: i === 0 ? grid : { show: false },
        values: (_u: uPlot, splits: number[]) => splits.map((v) => fmt(s, v)),
        size: 56,
      })),
    ],
  };
}

export function Chart(props: Props) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = () => Math.max(200, Math.floor(el.clientWidth));
    const plot = new uPlot(options(props, width()), props.data as uPlot.AlignedData, el);
    let last = width();
    const ro = new ResizeObserver(() => {
      const w = width();
      if (w !== last) {
        last = w;
        plot.setSize({ width: w, height: props.height ?? 220 });
      }
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
    // Re-created when the data or the series change (callers memoize them).
  }, [props.data, props.kind, props.series, props.height]);

  const [xs, ...cols] = props.data;
  return (
    <figure className="chart card" data-testid="chart" aria-label={props.title}>
      <figcaption className="chart-title">{props.title}</figcaption>
      <div ref={box} className="chart-canvas" aria-hidden="true" />
      {props.note && <p className="muted small chart-note">{props.note}</p>}
      <table className="sr-only">
        <caption>{props.title}: the chart's data</caption>
        <thead>
          <tr>
            <th scope="col">{props.kind.type === "bars" ? "Item" : "Day"}</th>
            {props.series.map((s) => (
              <th scope="col" key={s.label}>
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {xs.map((x, i) => (
            <tr key={i}>
              <th scope="row">{xText(props.kind, x)}</th>
              {cols.map((c, j) => (
                <td key={j}>{fmt(props.series[j]!, c[i])}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

export default Chart;
