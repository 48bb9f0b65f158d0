// The calls list as it was left: its loaded rows, cursor and scroll position, kept in
// module memory for a short while so that coming back from a call (the browser's Back, or
// a link to the same filters) shows the same rows at the same place without loading them
// again. Keyed by the business and the list's query string; entries expire after `ttlMs`
// (live events keep a shown list current; a list shown again follows the events from the
// last one it had applied, `lastEventId`, so the gateway replays what it missed meanwhile);
// at most `max` entries, the oldest dropped first.

export interface CachedList<Row> {
  rows: Row[];
  cursor: string | null;
  done: boolean;
  scrollTop: number; // the list's own scroll position
  pageY: number; // the window's
  lastEventId?: string; // the last live event applied to `rows` ("" or absent: none)
}

export interface ListCache<Row> {
  get(key: string, now: number): CachedList<Row> | null;
  put(key: string, value: CachedList<Row>, now: number): void;
  drop(key: string): void;
  clear(): void;
  size(): number;
}

export const CALLS_CACHE_TTL_MS = 60_000;

export function createListCache<Row>(ttlMs = CALLS_CACHE_TTL_MS, max = 5): ListCache<Row> {
  const entries = new Map<string, { at: number; value: CachedList<Row> }>();
  const prune = (now: number) => {
    for (const [k, e] of entries) if (now - e.at > ttlMs || now < e.at) entries.delete(k);
  };
  return {
    get(key, now) {
      prune(now);
      return entries.get(key)?.value ?? null;
    },
    put(key, value, now) {
      prune(now);
      entries.delete(key); // re-inserted last: the newest
      entries.set(key, { at: now, value });
      while (entries.size > max) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
      }
    },
    drop(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
    size() {
      return entries.size;
    },
  };
}

export function callsCacheKey(bid: string | null, apiQuery: string): string {
  return `${bid ?? ""}?${apiQuery}`;
}

// The bulk reprocess confirmation and its outcome, as shown on the calls page.
export function reprocessQuestion(loaded: number, done: boolean, stage: "analyze" | "transcribe"): string {
  const what = stage === "analyze" ? "analysed again (keeping their transcripts)" : "transcribed and analysed again";
  const shown = done
    ? `${loaded} ${loaded === 1 ? "call is" : "calls are"} loaded here, which is all of them`
    : `${loaded} ${loaded === 1 ? "call is" : "calls are"} loaded here and there are more`;
  return (
    `Every call matching the current filters will be ${what}. ${shown}; the server applies the filters itself, ` +
    "so the number it reprocesses may differ (at most 10,000 in one go). Calls still being processed, or without a " +
    "recording (or transcript), are skipped."
  );
}

export function reprocessOutcome(answer: unknown): string {
  const o = answer && typeof answer === "object" ? (answer as Record<string, unknown>) : {};
  const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return `${n(o.queued)} queued, ${n(o.skipped)} skipped`;
}
