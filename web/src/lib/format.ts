// Display formats for call fields.

// Local date and time in the browser's time zone, e.g. "21 Nov 2026, 09:40".
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTime.format(d);
}

// 754000 -> "12:34"; 3723000 -> "1:02:03".
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export function formatNumber(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return v.toFixed(digits);
}

// A scale the API gives as 0..1 or 0..100 is shown as it comes; the QA score is 0..100.
export function formatScore(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

// Joins CSV pages of one export (each page repeats the header line) into one file.
export function joinCsvPages(pages: string[]): string {
  if (pages.length === 0) return "";
  const out = [pages[0]!.endsWith("\n") || pages[0] === "" ? pages[0]! : pages[0] + "\n"];
  for (const p of pages.slice(1)) {
    const nl = p.indexOf("\n");
    if (nl < 0) continue; // header only
    const rest = p.slice(nl + 1);
    if (rest === "") continue;
    out.push(rest.endsWith("\n") ? rest : rest + "\n");
  }
  return out.join("");
}

// 0..1 -> "43%".
export function formatPercent(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return `${(v * 100).toFixed(digits)}%`;
}

export function formatCount(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  return new Intl.NumberFormat().format(v);
}
