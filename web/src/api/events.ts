// The business's live events over fetch (so the Authorization header goes along), with
// reconnection: Last-Event-ID makes the gateway replay what was missed while away.
import { apiFetch } from "./client";
import { readSse, SseParser, type SseEvent } from "../lib/sse";

export type LiveState = "connecting" | "live" | "reconnecting" | "stopped";

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

// Runs until `signal` aborts, or the session is refused (401/403 after a refresh). `from`:
// the id of the last event already applied (the gateway replays what came after it).
export async function followEvents(
  signal: AbortSignal,
  onEvent: (e: SseEvent) => void,
  onState: (s: LiveState) => void,
  from = "",
): Promise<void> {
  let lastId = from;
  let delay = 1_000;
  onState("connecting");
  while (!signal.aborted) {
    let wait = delay;
    try {
      const headers: Record<string, string> = lastId ? { "Last-Event-ID": lastId } : {};
      const res = await apiFetch("/api/v1/events", { signal, headers, accept: "text/event-stream" });
      if (res.ok && res.body) {
        onState("live");
        delay = 1_000;
        const parser = new SseParser();
        parser.lastEventId = lastId;
        try {
          await readSse(res.body, parser, onEvent);
        } finally {
          lastId = parser.lastEventId;
        }
        wait = parser.retryMs ?? 1_000;
      } else {
        if (res.status === 401 || res.status === 403) {
          onState("stopped");
          return;
        }
        const ra = Number(res.headers.get("Retry-After"));
        if (Number.isFinite(ra) && ra > 0) wait = ra * 1000;
      }
    } catch {
      // network failure or abort: retried below unless aborted
    }
    if (signal.aborted) break;
    onState("reconnecting");
    await sleep(wait + Math.random() * 500, signal);
    delay = Math.min(delay * 2, 30_000);
  }
  onState("stopped");
}
