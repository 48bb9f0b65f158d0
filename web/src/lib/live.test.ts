import { describe, expect, it } from "vitest";
import { applyLiveChange, isUnseenNewCall, parseLiveEvent } from "./live";

const ev = (data: object) => JSON.stringify({ id: "1-0", type: "call.status", bid: "acme", at: 1, data });

describe("parseLiveEvent", () => {
  it("reads call.status as in docs/api.md", () => {
    expect(
      parseLiveEvent("call.status", ev({ call_id: 42, status: "analyzed", previous: "transcribed", reason: null })),
    ).toEqual({ kind: "status", callId: 42, status: "analyzed", reason: null });
    expect(parseLiveEvent("call.status", ev({ call_id: 4, status: "failed", reason: "no speech" }))).toEqual({
      kind: "status",
      callId: 4,
      status: "failed",
      reason: "no speech",
    });
  });
  it("reads a new call's first event (previous: null) as created", () => {
    expect(parseLiveEvent("call.status", ev({ call_id: 77, status: "pending", previous: null, reason: null }))).toEqual({
      kind: "created",
      callId: 77,
      status: "pending",
      reason: null,
    });
  });
  it("reads call.deleted", () => {
    expect(parseLiveEvent("call.deleted", JSON.stringify({ type: "call.deleted", data: { call_id: 9 } }))).toEqual({
      kind: "deleted",
      callId: 9,
    });
  });
  it("ignores other types and malformed data", () => {
    expect(parseLiveEvent("pipeline.counters", ev({ pending: 1 }))).toBeUndefined();
    expect(parseLiveEvent("call.status", "not json")).toBeUndefined();
    expect(parseLiveEvent("call.status", ev({ call_id: "42", status: "x" }))).toBeUndefined();
    expect(parseLiveEvent("call.status", ev({ call_id: 42 }))).toBeUndefined();
    expect(parseLiveEvent("call.status", "null")).toBeUndefined();
  });
});

describe("applyLiveChange", () => {
  const rows = [
    { id: 1, status: "pending", failed_reason: null, city: "Pune" },
    { id: 2, status: "analyzing", failed_reason: null, city: "Delhi" },
  ];
  it("updates the status of the row in place, keeping its other fields", () => {
    const next = applyLiveChange(rows, { kind: "status", callId: 2, status: "failed", reason: "timeout" });
    expect(next).toEqual([rows[0], { id: 2, status: "failed", failed_reason: "timeout", city: "Delhi" }]);
    expect(next[0]).toBe(rows[0]);
    expect(rows[1]?.status).toBe("analyzing");
  });
  it("returns the same array when no loaded row changes", () => {
    expect(applyLiveChange(rows, { kind: "status", callId: 3, status: "analyzed", reason: null })).toBe(rows);
    expect(applyLiveChange(rows, { kind: "status", callId: 1, status: "pending", reason: null })).toBe(rows);
  });
  it("removes a deleted call", () => {
    expect(applyLiveChange(rows, { kind: "deleted", callId: 1 }).map((r) => r.id)).toEqual([2]);
  });
});

describe("isUnseenNewCall", () => {
  const rows = [{ id: 1 }, { id: 2 }];
  it("is a created call the list does not hold", () => {
    expect(isUnseenNewCall(rows, { kind: "created", callId: 3, status: "pending", reason: null })).toBe(true);
  });
  it("is not a loaded call, a status change or a deletion", () => {
    expect(isUnseenNewCall(rows, { kind: "created", callId: 2, status: "pending", reason: null })).toBe(false);
    expect(isUnseenNewCall(rows, { kind: "status", callId: 3, status: "analyzed", reason: null })).toBe(false);
    expect(isUnseenNewCall(rows, { kind: "deleted", callId: 3 })).toBe(false);
  });
  it("lets applyLiveChange update a created call already listed", () => {
    const listed = [{ id: 5, status: "pending", failed_reason: null }];
    const c = { kind: "created" as const, callId: 5, status: "transcribing", reason: null };
    expect(applyLiveChange(listed, c)[0]?.status).toBe("transcribing");
  });
});
