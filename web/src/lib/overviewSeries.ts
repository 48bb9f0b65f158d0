// Days and hours in the browser's time zone for the analytics charts. The overview and
// agent endpoints take `utc_offset_minutes` (-840..840) and group days and hours in that
// offset, so the days of a range are those its instants touch at that offset, and the
// chart's x values stay "a day's date at UTC midnight" (src/lib/series.ts `daySeconds`)
// whatever the offset: the labels are the dates the API returned.
import { addDays, daysBetween, MAX_DAYS } from "./daterange";
import { dailyColumns, type Column } from "./series";

export const MIN_UTC_OFFSET = -840;
export const MAX_UTC_OFFSET = 840;

// The browser's offset from UTC now, in minutes east of UTC (India: 330, New York: -300
// or -240), clamped to the API's range. A range across a daylight-saving change is grouped
// at today's offset: the days at its far end are off by that hour.
export function browserUtcOffset(now: Date): number {
  const m = -now.getTimezoneOffset();
  if (!Number.isFinite(m)) return 0;
  const r = Math.max(MIN_UTC_OFFSET, Math.min(MAX_UTC_OFFSET, Math.round(m)));
  return r === 0 ? 0 : r; // never -0 (UTC itself)
}

// "UTC+05:30", "UTC-04:00", "UTC".
export function offsetLabel(minutes: number): string {
  if (minutes === 0) return "UTC";
  const sign = minutes > 0 ? "+" : "-";
  const a = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

// The dates "YYYY-MM-DD" at `offsetMinutes` that the instants [fromIso, toIso) touch (with
// offset 0: the UTC days).
export function offsetDays(fromIso: string, toIso: string, offsetMinutes: number): string[] {
  const shift = offsetMinutes * 60_000;
  const a = new Date(fromIso).getTime() + shift;
  const b = new Date(toIso).getTime() - 1 + shift;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) return [];
  const first = new Date(a).toISOString().slice(0, 10);
  const last = new Date(b).toISOString().slice(0, 10);
  const n = daysBetween(first, last);
  const out: string[] = [];
  for (let i = 0; i <= n && i <= MAX_DAYS + 1; i++) out.push(addDays(first, i));
  return out;
}

// One overview day: calls, and (from servers that send them) the day's averages.
export interface OverviewDayRow {
  day: string;
  calls: number;
  avg_customer_sentiment?: number | null;
  avg_qa_score?: number | null;
  avg_agent_talk_ratio?: number | null;
}

export interface OverviewDaily {
  calls: [number[], Column];
  // null when the answer has no such field at all (an older server): no chart then.
  sentiment: [number[], Column] | null;
  qa: [number[], Column] | null;
  talk: [number[], Column] | null;
}

// The overview's per-day charts: calls (0 on days without calls) and the three averages
// (null on days without calls or without a value: gaps in the line).
export function overviewDaily(days: string[], rows: OverviewDayRow[]): OverviewDaily {
  const [xs, calls, sentiment, qa, talk] = dailyColumns(days, rows, [
    { get: (r) => r.calls, missing: 0 },
    { get: (r) => r.avg_customer_sentiment, missing: null },
    { get: (r) => r.avg_qa_score, missing: null },
    { get: (r) => r.avg_agent_talk_ratio, missing: null },
  ]);
  const has = (k: keyof OverviewDayRow) => rows.some((r) => k in r);
  return {
    calls: [xs, calls!],
    sentiment: has("avg_customer_sentiment") ? [xs, sentiment!] : null,
    qa: has("avg_qa_score") ? [xs, qa!] : null,
    talk: has("avg_agent_talk_ratio") ? [xs, talk!] : null,
  };
}

// The hour chart's labels: "00:00".."23:00" (hours of the day at the offset the API used).
export const HOUR_LABELS = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, "0")}:00`);
