import { describe, expect, it } from "vitest";
import { readSse, SseParser, type SseEvent } from "./sse";

const frame =
  'id: 1763730000000-0\nevent: call.status\ndata: {"id":"1763730000000-0","type":"call.status","data":{"call_id":42}}\n\n';

describe("SseParser", () => {
  it("parses one whole event", () => {
    const p = new SseParser();
    expect(p.push(frame)).toEqual([
      {
        id: "1763730000000-0",
        event: "call.status",
        data: '{"id":"1763730000000-0","type":"call.status","data":{"call_id":42}}',
      },
    ]);
    expect(p.lastEventId).toBe("1763730000000-0");
  });

  it("gives the same events however the stream is split into chunks", () => {
    const text = frame + ": heartbeat\n\n" + frame.replace("-0", "-1").replace("-0", "-1");
    const whole = new SseParser().push(text);
    expect(whole).toHaveLength(2);
    for (let size = 1; size <= 7; size++) {
      const p = new SseParser();
      const got: SseEvent[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...p.push(text.slice(i, i + size)));
      expect(got, `chunks of ${size}`).toEqual(whole);
    }
  });

  it("counts comments and heartbeats without emitting events", () => {
    const p = new SseParser();
    expect(p.push(": heartbeat\n\n:another\n\n")).toEqual([]);
    expect(p.comments).toBe(2);
  });

  it("joins multi-line data with newlines", () => {
    const p = new SseParser();
    expect(p.push("data: first\ndata:second\ndata\ndata:  indented\n\n")).toEqual([
      { id: "", event: "message", data: "first\nsecond\n\n indented" },
    ]);
  });

  it("accepts CRLF and CR line ends, also a CRLF split between chunks", () => {
    const p = new SseParser();
    const got = [...p.push("event: a\r"), ...p.push("\ndata: x\r\n\r"), ...p.push("\ndata: y\r\r")];
    expect(got).toEqual([
      { id: "", event: "a", data: "x" },
      { id: "", event: "message", data: "y" },
    ]);
  });

  it("drops events without data, keeps the id, ignores unknown fields", () => {
    const p = new SseParser();
    expect(p.push("id: 7\nevent: x\n\nfoo: bar\ndata: d\n\n")).toEqual([{ id: "7", event: "message", data: "d" }]);
    expect(p.lastEventId).toBe("7");
  });

  it("keeps an unterminated event until its blank line arrives", () => {
    const p = new SseParser();
    expect(p.push("data: partial")).toEqual([]);
    expect(p.push("\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ id: "", event: "message", data: "partial" }]);
  });

  it("reads retry", () => {
    const p = new SseParser();
    p.push("retry: 2500\nretry: soon\n\n");
    expect(p.retryMs).toBe(2500);
  });
});

describe("readSse", () => {
  it("decodes UTF-8 split inside a character across chunks", async () => {
    const bytes = new TextEncoder().encode('event: call.status\ndata: {"reason":"café ☕"}\n\n');
    // 40 cuts "é" (bytes 39-40) and 43 cuts "☕" (bytes 42-44).
    const chunks = [bytes.slice(0, 40), bytes.slice(40, 43), bytes.slice(43)];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(ch);
        c.close();
      },
    });
    const got: SseEvent[] = [];
    await readSse(body, new SseParser(), (e) => got.push(e));
    expect(got).toEqual([{ id: "", event: "call.status", data: '{"reason":"café ☕"}' }]);
  });
});
