// A server-sent events parser for fetch() streams (EventSource cannot send the
// Authorization header). Follows the WHATWG event-stream rules: lines end in \n, \r\n or
// \r (also split across chunks); a line starting with ":" is a comment (the gateway's
// heartbeat); "data" lines accumulate, joined by \n; a blank line dispatches the event;
// an event with no data is dropped; "id" persists across events (it is the Last-Event-ID);
// "retry" sets the reconnection delay.

export interface SseEvent {
  id: string; // last event id seen so far ("" if none)
  event: string; // "message" when the stream gave no type
  data: string;
}

export class SseParser {
  private buffer = "";
  private pendingCR = false; // a chunk ended in \r: a following \n belongs to it
  private data: string[] = [];
  private hasData = false;
  private eventType = "";
  lastEventId = "";
  retryMs: number | undefined;
  comments = 0; // comment lines seen (heartbeats): a sign of life

  // Feeds decoded text; returns the events completed by it, in order.
  push(chunk: string): SseEvent[] {
    const out: SseEvent[] = [];
    let text = chunk;
    if (this.pendingCR) {
      this.pendingCR = false;
      if (text.startsWith("\n")) text = text.slice(1);
    }
    this.buffer += text;
    let pos = 0;
    for (;;) {
      let i = pos;
      const n = this.buffer.length;
      while (i < n && this.buffer[i] !== "\n" && this.buffer[i] !== "\r") i++;
      if (i >= n) break;
      const line = this.buffer.slice(pos, i);
      if (this.buffer[i] === "\r") {
        if (i + 1 < n) {
          pos = this.buffer[i + 1] === "\n" ? i + 2 : i + 1;
        } else {
          this.pendingCR = true;
          pos = i + 1;
        }
      } else {
        pos = i + 1;
      }
      const ev = this.line(line);
      if (ev) out.push(ev);
    }
    this.buffer = this.buffer.slice(pos);
    return out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) {
      this.comments++;
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const hadData = this.hasData;
    const ev: SseEvent = { id: this.lastEventId, event: this.eventType || "message", data: this.data.join("\n") };
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    return hadData ? ev : undefined;
  }
}

// Reads a fetch body as events. Resolves when the stream ends; rejects on a read error.
export async function readSse(
  body: ReadableStream<Uint8Array>,
  parser: SseParser,
  onEvent: (e: SseEvent) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
    for (const e of parser.push(decoder.decode())) onEvent(e);
  } finally {
    reader.releaseLock();
  }
}
