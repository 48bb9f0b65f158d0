// Live events (GET /api/v1/events, docs/api.md "Live events") applied to the loaded calls.
// Event JSON: {"id", "type", "bid", "at", "data": {...}}; call.status data is
// {call_id, status, previous, reason}.

export type LiveChange =
  | { kind: "status"; callId: number; status: string; reason: string | null }
  | { kind: "created"; callId: number; status: string; reason: string | null } // previous: null
  | { kind: "deleted"; callId: number };

export function parseLiveEvent(type: string, data: string): LiveChange | undefined {
  if (type !== "call.status" && type !== "call.deleted") return undefined;
  let j: unknown;
  try {
    j = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (!j || typeof j !== "object") return undefined;
  const d = (j as { data?: unknown }).data;
  if (!d || typeof d !== "object") return undefined;
  const { call_id, status, reason, previous } = d as {
    call_id?: unknown;
    status?: unknown;
    reason?: unknown;
    previous?: unknown;
  };
  if (typeof call_id !== "number" || !Number.isSafeInteger(call_id)) return undefined;
  if (type === "call.deleted") return { kind: "deleted", callId: call_id };
  if (typeof status !== "string" || status === "") return undefined;
  // A new call's first event says it came from nowhere (previous: null).
  const kind = "previous" in d && previous === null ? "created" : "status";
  return { kind, callId: call_id, status, reason: typeof reason === "string" ? reason : null };
}

interface StatusRow {
  id: number;
  status: string;
  failed_reason: string | null;
}

// The rows with the change applied; the same array when no loaded row is affected (so React
// does not re-render for calls that are not on the list).
export function applyLiveChange<T extends StatusRow>(rows: T[], c: LiveChange): T[] {
  const i = rows.findIndex((r) => r.id === c.callId);
  if (i < 0) return rows;
  if (c.kind === "deleted") return [...rows.slice(0, i), ...rows.slice(i + 1)];
  const row = rows[i]!;
  if (row.status === c.status && row.failed_reason === c.reason) return rows;
  const next = rows.slice();
  next[i] = { ...row, status: c.status, failed_reason: c.status === "failed" ? c.reason : null };
  return next;
}

// Whether a change announces a call the list has not loaded: a new call (the list offers to
// show it rather than moving the rows under the reader's eyes).
export function isUnseenNewCall(rows: readonly { id: number }[], c: LiveChange): boolean {
  return c.kind === "created" && !rows.some((r) => r.id === c.callId);
}
