// The analytics pages' date range: two local calendar dates (inclusive) in the URL as
// `from` / `to` (YYYY-MM-DD), sent to the API as the UTC instants of their local midnights
// (to: the midnight after the last day). Default: the last 30 days, today included.

export interface DateRange {
  from: string; // YYYY-MM-DD, local
  to: string; // YYYY-MM-DD, local, inclusive
}

export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 366; // the API's limit

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

// A valid calendar date "YYYY-MM-DD" -> [y, m, d]; otherwise null.
export function parseYmd(s: string): [number, number, number] | null {
  const m = YMD.exec(s);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1970 || t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
  return [y, mo, d];
}

// Calendar arithmetic on "YYYY-MM-DD" (no time zone involved).
export function addDays(ymd: string, n: number): string {
  const p = parseYmd(ymd);
  if (!p) throw new Error(`not a date: ${ymd}`);
  const t = new Date(Date.UTC(p[0], p[1] - 1, p[2] + n));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

// Days from a to b (b - a), both "YYYY-MM-DD".
export function daysBetween(a: string, b: string): number {
  const pa = parseYmd(a);
  const pb = parseYmd(b);
  if (!pa || !pb) return NaN;
  return Math.round((Date.UTC(pb[0], pb[1] - 1, pb[2]) - Date.UTC(pa[0], pa[1] - 1, pa[2])) / 86_400_000);
}

// Today's date in the browser's time zone.
export function localToday(now: Date): string {
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

export function defaultRange(now: Date): DateRange {
  const to = localToday(now);
  return { from: addDays(to, -(DEFAULT_DAYS - 1)), to };
}

export interface RangeResult {
  range: DateRange;
  problems: string[]; // non-empty: the URL's range is not valid (range is then the default)
}

// Reads from/to of the URL; either missing takes its default (to: today; from: 30 days
// ending at to).
export function parseRange(params: URLSearchParams, now: Date): RangeResult {
  const problems: string[] = [];
  const def = defaultRange(now);
  const rawTo = params.get("to");
  const rawFrom = params.get("from");
  let to = def.to;
  if (rawTo !== null && rawTo !== "") {
    if (parseYmd(rawTo)) to = rawTo;
    else problems.push(`“To” must be a date like 2026-11-21 (got “${rawTo}”)`);
  }
  let from = addDays(to, -(DEFAULT_DAYS - 1));
  if (rawFrom !== null && rawFrom !== "") {
    if (parseYmd(rawFrom)) from = rawFrom;
    else problems.push(`“From” must be a date like 2026-11-21 (got “${rawFrom}”)`);
  }
  if (problems.length === 0) {
    const span = daysBetween(from, to) + 1;
    if (span < 1) problems.push("“From” must not be after “To”");
    else if (span > MAX_DAYS) problems.push(`The range may span at most ${MAX_DAYS} days (got ${span})`);
  }
  return problems.length ? { range: def, problems } : { range: { from, to }, problems };
}

// The range in the URL: both dates always written, so a shared link shows the same days.
export function rangeToParams(r: DateRange, base?: URLSearchParams): URLSearchParams {
  const p = new URLSearchParams(base);
  p.set("from", r.from);
  p.set("to", r.to);
  return p;
}

// Local midnight of a date as a UTC instant (ISO 8601 with Z, as the API wants).
export function localMidnightIso(ymd: string): string {
  const p = parseYmd(ymd);
  if (!p) throw new Error(`not a date: ${ymd}`);
  return new Date(p[0], p[1] - 1, p[2]).toISOString();
}

// The API's from/to for a range: [local midnight of from, local midnight after to).
export function rangeToApi(r: DateRange): { from: string; to: string } {
  return { from: localMidnightIso(r.from), to: localMidnightIso(addDays(r.to, 1)) };
}

// The UTC days "YYYY-MM-DD" that the instants [fromIso, toIso) touch: the API groups by
// UTC day, so these are the x values of a daily chart.
export function utcDays(fromIso: string, toIso: string): string[] {
  const a = new Date(fromIso).getTime();
  const b = new Date(toIso).getTime() - 1;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b < a) return [];
  const first = new Date(a).toISOString().slice(0, 10);
  const last = new Date(b).toISOString().slice(0, 10);
  const n = daysBetween(first, last);
  const out: string[] = [];
  for (let i = 0; i <= n && i <= MAX_DAYS + 1; i++) out.push(addDays(first, i));
  return out;
}
