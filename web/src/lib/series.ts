// API rows -> uPlot's column arrays ([x values, ...one array per series]).

import { parseYmd } from "./daterange";

export type Column = (number | null)[];

// "YYYY-MM-DD" -> Unix seconds at that day's UTC midnight.
export function daySeconds(ymd: string): number {
  const p = parseYmd(ymd);
  if (!p) return NaN;
  return Date.UTC(p[0], p[1] - 1, p[2]) / 1000;
}

// One value per day of `days` for each field; a day the API left out gets that field's
// `missing` value: null for averages (a gap in the line: nothing was measured), 0 for
// counts (no calls that day). Rows for days outside `days` are ignored.
export function dailyColumns<T extends { day: string }>(
  days: string[],
  rows: T[],
  fields: { get: (r: T) => number | null | undefined; missing: number | null }[],
): [number[], ...Column[]] {
  const byDay = new Map<string, T>();
  for (const r of rows) byDay.set(r.day, r);
  const xs = days.map(daySeconds);
  const cols = fields.map((f) =>
    days.map((d) => {
      const r = byDay.get(d);
      if (!r) return f.missing;
      const v = f.get(r);
      return v === null || v === undefined || !Number.isFinite(v) ? null : v;
    }),
  );
  return [xs, ...cols];
}

// Calls per hour of day 0..23 (hours without calls: 0).
export function hourColumns(rows: { hour: number; calls: number }[]): [number[], number[]] {
  const xs = Array.from({ length: 24 }, (_, h) => h);
  const ys = xs.map(() => 0);
  for (const r of rows) if (Number.isInteger(r.hour) && r.hour >= 0 && r.hour < 24) ys[r.hour] = r.calls;
  return [xs, ys];
}

// A bar chart's columns: x is the bar's index (its label shown on the axis), at most `limit`
// bars in the given order.
export function barColumns<T>(
  rows: T[],
  label: (r: T) => string,
  value: (r: T) => number | null | undefined,
  limit = 20,
): { labels: string[]; data: [number[], Column] } {
  const top = rows.slice(0, limit);
  return {
    labels: top.map(label),
    data: [
      top.map((_, i) => i),
      top.map((r) => {
        const v = value(r);
        return v === null || v === undefined || !Number.isFinite(v) ? null : v;
      }),
    ],
  };
}

// Trend entries (stored JSON, any shape) -> valid entries sorted by time.
export interface TrendPoint {
  callId: number;
  at: number; // ms since the epoch
  talkRatio: number | null;
  sentiment: number | null;
  qaScore: number | null;
}

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function trendPoints(trend: unknown): TrendPoint[] {
  if (!Array.isArray(trend)) return [];
  const out: TrendPoint[] = [];
  for (const e of trend) {
    if (!e || typeof e !== "object") continue;
    const o = e as Record<string, unknown>;
    const at = num(o.at);
    const callId = num(o.call_id);
    if (at === null || callId === null || Number.isNaN(new Date(at).getTime())) continue;
    out.push({ callId, at, talkRatio: num(o.talk_ratio), sentiment: num(o.sentiment), qaScore: num(o.qa_score) });
  }
  return out.sort((a, b) => a.at - b.at);
}
