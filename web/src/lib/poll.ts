// Refresh on an interval while the page is visible: no requests from a hidden tab, one
// request at a time, and a catch-up request when the tab shows again after the interval.

export interface PollDeps {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  isVisible(): boolean;
  // Subscribes to visibility changes; returns the unsubscribe.
  onVisibilityChange(fn: () => void): () => void;
}

// Milliseconds until the next run: at once when nothing ran yet or the interval has passed.
export function nextDelay(lastStartedAt: number | null, now: number, intervalMs: number): number {
  if (lastStartedAt === null) return 0;
  return Math.max(0, Math.min(intervalMs, lastStartedAt + intervalMs - now));
}

// Starts polling `run` (first run at once when visible); returns stop().
export function startPolling(run: () => Promise<unknown>, intervalMs: number, deps: PollDeps): () => void {
  let stopped = false;
  let running = false;
  let lastStartedAt: number | null = null;
  let timer: unknown = undefined;

  const clear = () => {
    if (timer !== undefined) deps.clearTimer(timer);
    timer = undefined;
  };

  const schedule = () => {
    clear();
    if (stopped || running || !deps.isVisible()) return;
    timer = deps.setTimer(tick, nextDelay(lastStartedAt, deps.now(), intervalMs));
  };

  function tick() {
    timer = undefined;
    if (stopped || running || !deps.isVisible()) return;
    running = true;
    lastStartedAt = deps.now();
    let p: Promise<unknown>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    void p
      .catch(() => undefined) // the caller shows its own errors; polling goes on
      .finally(() => {
        running = false;
        schedule();
      });
  }

  const unsubscribe = deps.onVisibilityChange(() => (deps.isVisible() ? schedule() : clear()));
  schedule();
  return () => {
    stopped = true;
    clear();
    unsubscribe();
  };
}

// The browser's clock, timers and Page Visibility API.
export function browserPollDeps(): PollDeps {
  return {
    now: () => Date.now(),
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    isVisible: () => document.visibilityState !== "hidden",
    onVisibilityChange: (fn) => {
      document.addEventListener("visibilitychange", fn);
      return () => document.removeEventListener("visibilitychange", fn);
    },
  };
}
