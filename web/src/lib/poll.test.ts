import { describe, expect, it } from "vitest";
import { nextDelay, startPolling, type PollDeps } from "./poll";

// A fake clock with timers and a visibility flag.
function fakeDeps() {
  let now = 0;
  let visible = true;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const listeners = new Set<() => void>();
  const deps: PollDeps = {
    now: () => now,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (h) => void timers.delete(h as number),
    isVisible: () => visible,
    onVisibilityChange: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return {
    deps,
    timers,
    listeners,
    // Moves the clock, firing due timers in order.
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    setVisible(v: boolean) {
      visible = v;
      for (const l of listeners) l();
    },
  };
}

const flush = () => new Promise<void>((r) => setTimeout(r, 0));

describe("nextDelay", () => {
  it("runs at once first, then after the interval, at once when overdue", () => {
    expect(nextDelay(null, 5000, 10_000)).toBe(0);
    expect(nextDelay(1000, 4000, 10_000)).toBe(7000);
    expect(nextDelay(1000, 20_000, 10_000)).toBe(0);
    expect(nextDelay(5000, 1000, 10_000)).toBe(10_000); // clock went back: never more than the interval
  });
});

describe("startPolling", () => {
  it("runs at once and then every interval after each run", async () => {
    const f = fakeDeps();
    let runs = 0;
    const stop = startPolling(async () => void runs++, 10_000, f.deps);
    f.advance(0);
    await flush();
    expect(runs).toBe(1);
    f.advance(9_999);
    await flush();
    expect(runs).toBe(1);
    f.advance(1);
    await flush();
    expect(runs).toBe(2);
    f.advance(10_000);
    await flush();
    expect(runs).toBe(3);
    stop();
    f.advance(50_000);
    await flush();
    expect(runs).toBe(3);
    expect(f.timers.size).toBe(0);
    expect(f.listeners.size).toBe(0);
  });

  it("never overlaps runs: a slow run delays the next", async () => {
    const f = fakeDeps();
    let runs = 0;
    let finish: () => void = () => {};
    startPolling(
      () => {
        runs++;
        return new Promise<void>((r) => (finish = r));
      },
      10_000,
      f.deps,
    );
    f.advance(0);
    f.advance(30_000);
    await flush();
    expect(runs).toBe(1);
    finish(); // finished 30 s after it started: overdue, so the next one starts at once
    await flush();
    f.advance(0);
    expect(runs).toBe(2);
  });

  it("stops while hidden and catches up when shown after the interval", async () => {
    const f = fakeDeps();
    let runs = 0;
    startPolling(async () => void runs++, 10_000, f.deps);
    f.advance(0);
    await flush();
    f.setVisible(false);
    expect(f.timers.size).toBe(0);
    f.advance(60_000);
    await flush();
    expect(runs).toBe(1);
    f.setVisible(true);
    f.advance(0);
    await flush();
    expect(runs).toBe(2);
  });

  it("shown again within the interval waits for the rest of it", async () => {
    const f = fakeDeps();
    let runs = 0;
    startPolling(async () => void runs++, 10_000, f.deps);
    f.advance(0);
    await flush();
    f.advance(3_000);
    f.setVisible(false);
    f.setVisible(true);
    f.advance(6_999);
    await flush();
    expect(runs).toBe(1);
    f.advance(1);
    await flush();
    expect(runs).toBe(2);
  });

  it("does not start while hidden, and keeps polling after a failed run", async () => {
    const f = fakeDeps();
    f.setVisible(false);
    let runs = 0;
    startPolling(
      async () => {
        runs++;
        throw new Error("down");
      },
      10_000,
      f.deps,
    );
    f.advance(30_000);
    expect(runs).toBe(0);
    f.setVisible(true);
    f.advance(0);
    await flush();
    f.advance(10_000);
    await flush();
    expect(runs).toBe(2);
  });
});
