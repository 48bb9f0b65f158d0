// The transcript as the API stores it (segments {speaker, start_ms, end_ms, text,
// confidence}) and the downloads built from it in the browser: TXT, SRT and JSON. The
// formats match the gateway's own /transcript?format= export.

export interface Segment {
  speaker: string;
  start_ms: number;
  end_ms: number;
  text: string;
  confidence?: number;
}

function num(v: unknown): number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0;
}

// Whatever the stored JSON holds, a list of well-typed segments (missing fields empty or 0).
export function normalizeSegments(raw: unknown): Segment[] {
  if (!Array.isArray(raw)) return [];
  const out: Segment[] = [];
  for (const s of raw) {
    if (s === null || typeof s !== "object") continue;
    const o = s as Record<string, unknown>;
    const seg: Segment = {
      speaker: typeof o.speaker === "string" ? o.speaker : o.speaker == null ? "" : String(o.speaker),
      start_ms: num(o.start_ms),
      end_ms: num(o.end_ms),
      text: typeof o.text === "string" ? o.text : "",
    };
    if (typeof o.confidence === "number") seg.confidence = o.confidence;
    out.push(seg);
  }
  return out;
}

const pad = (n: number, w: number) => String(n).padStart(w, "0");

// 62345 -> "01:02" (minutes keep counting past an hour: 3723000 -> "62:03").
export function mmss(ms: number): string {
  const s = Math.floor(Math.max(0, ms) / 1000);
  return `${pad(Math.floor(s / 60), 2)}:${pad(s % 60, 2)}`;
}

// 62345 -> "00:01:02,345" (SRT); with sep "." the TXT form "00:01:02.345".
export function clockTime(ms: number, sep: "," | "." = ","): string {
  const t = Math.floor(Math.max(0, ms));
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor(t / 60_000) % 60;
  const s = Math.floor(t / 1000) % 60;
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}${sep}${pad(t % 1000, 3)}`;
}

export function transcriptToTxt(segs: Segment[]): string {
  return segs.map((s) => `[${clockTime(s.start_ms, ".")}] ${s.speaker}: ${s.text}\n`).join("");
}

export function transcriptToSrt(segs: Segment[]): string {
  return segs
    .map((s, i) => {
      // A cue must not end before it starts (players drop it).
      const end = Math.max(s.end_ms, s.start_ms);
      // A blank line ends an SRT cue: text with blank lines of its own is closed up.
      const text = s.text.replace(/\r\n?/g, "\n").replace(/\n\s*\n/g, "\n");
      return `${i + 1}\n${clockTime(s.start_ms)} --> ${clockTime(end)}\n${s.speaker}: ${text}\n\n`;
    })
    .join("");
}

export function transcriptToJson(callId: number, language: string, provider: string, segs: Segment[]): string {
  return JSON.stringify({ call_id: callId, language, provider, segments: segs }, null, 2) + "\n";
}
