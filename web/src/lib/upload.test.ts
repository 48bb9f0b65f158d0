import { describe, expect, it } from "vitest";
import { buildUpload, defaultExternalId, EMPTY_UPLOAD, localToUtc } from "./upload";

const MiB = 1024 * 1024;
const now = new Date(Date.UTC(2026, 11, 6, 9, 40, 5));

function file(name: string, bytes = 10): File {
  return new File([new Uint8Array(bytes)], name, { type: "audio/wav" });
}

describe("defaultExternalId", () => {
  it("derives a safe id from the file name and the UTC time", () => {
    expect(defaultExternalId("Call with Dana (1).wav", now)).toBe("upload-Call-with-Dana-1-20261206094005");
  });
  it("names a file without a usable stem 'call'", () => {
    expect(defaultExternalId("(((.wav", now)).toBe("upload-call-20261206094005");
  });
  it("keeps ids within 128 characters", () => {
    expect(defaultExternalId("x".repeat(500) + ".wav", now).length).toBeLessThanOrEqual(128);
  });
});

describe("localToUtc", () => {
  it("reads a datetime-local value in the browser's zone", () => {
    const utc = localToUtc("2026-12-06T09:40");
    expect(utc).toBe(new Date(2026, 11, 6, 9, 40).toISOString().replace(/\.\d{3}Z$/, "Z"));
  });
  it("refuses what is not a date and time", () => {
    expect(localToUtc("yesterday")).toBeNull();
    expect(localToUtc("2026-13-45T99:99")).toBeNull();
  });
});

describe("buildUpload", () => {
  it("needs a file", () => {
    expect(buildUpload(null, EMPTY_UPLOAD, MiB, now)).toEqual({ ok: false, error: "Recording: choose an audio file." });
  });
  it("refuses a file that is not audio by its extension", () => {
    const r = buildUpload(file("notes.txt"), EMPTY_UPLOAD, MiB, now);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/wav, flac, ogg, mp3/);
  });
  it("refuses an empty or too large file", () => {
    expect(buildUpload(file("a.wav", 0), EMPTY_UPLOAD, MiB, now)).toEqual({ ok: false, error: "Recording: the file is empty." });
    const big = buildUpload(file("a.wav", 2 * MiB), EMPTY_UPLOAD, MiB, now);
    expect(big).toEqual({ ok: false, error: "Recording: the file is larger than 1 MiB." });
  });
  it("refuses an over-long external id and a bad start time", () => {
    expect(buildUpload(file("a.wav"), { ...EMPTY_UPLOAD, externalId: "e".repeat(129) }, MiB, now).ok).toBe(false);
    const r = buildUpload(file("a.wav"), { ...EMPTY_UPLOAD, startedAt: "soon" }, MiB, now);
    expect(r).toEqual({ ok: false, error: "Started: not a valid date and time." });
  });
  it("sends the file, the id, the direction and only the fields filled in", () => {
    const r = buildUpload(file("Call 7.WAV"), { ...EMPTY_UPLOAD, agentId: " agent-sarah ", direction: "outbound" }, MiB, now);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.externalId).toBe("upload-Call-7-20261206094005");
    expect(r.body.get("external_id")).toBe("upload-Call-7-20261206094005");
    expect(r.body.get("agent_id")).toBe("agent-sarah");
    expect(r.body.get("direction")).toBe("outbound");
    expect(r.body.has("customer_name")).toBe(false);
    expect(r.body.has("started_at")).toBe(false);
    expect((r.body.get("audio") as File).name).toBe("Call 7.WAV");
  });
  it("keeps a given external id and converts the start time to UTC", () => {
    const r = buildUpload(file("a.flac"), { ...EMPTY_UPLOAD, externalId: " crm-991 ", startedAt: "2026-12-06T09:40" }, MiB, now);
    expect(r.ok && r.body.get("external_id")).toBe("crm-991");
    expect(r.ok && r.body.get("started_at")).toBe(localToUtc("2026-12-06T09:40"));
  });
});
