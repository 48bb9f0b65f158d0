// The recording's source: a signed URL from POST /api/v1/calls/{id}/audio-url, which an
// <audio src> streams with Range requests; when the gateway has no such route (404, 405)
// the page falls back to fetching the whole file through the session client.

export interface SignedAudio {
  url: string;
  expiresAt: number | null; // ms since the epoch; null: not said
}

// The answer of the audio-url route, or null when it is not usable (a URL off this origin's
// API is refused: the CSP allows media from 'self' only).
export function parseSignedAudio(v: unknown, now: number): SignedAudio | null {
  if (v === null || typeof v !== "object") return null;
  const o = v as Record<string, unknown>;
  if (typeof o.url !== "string" || !/^\/api\/v1\/calls\/\d+\/audio(\?|$)/.test(o.url)) return null;
  let expiresAt: number | null = null;
  if (typeof o.expires_at === "string") {
    const t = Date.parse(o.expires_at);
    if (!Number.isNaN(t)) expiresAt = t;
  } else if (typeof o.expires_at === "number" && Number.isFinite(o.expires_at)) {
    // Unix seconds (or already ms).
    expiresAt = o.expires_at < 1e12 ? o.expires_at * 1000 : o.expires_at;
  }
  if (expiresAt !== null && expiresAt <= now) return null;
  return { url: o.url, expiresAt };
}

// What to do with the audio-url route's answer status.
export function audioUrlFallback(status: number): "blob" | "error" {
  // 404: the route is absent (the gateway's "no route") or the call has no recording; the
  // plain GET, which the dashboard always had, tells the two apart. 405: route absent.
  return status === 404 || status === 405 || status === 501 ? "blob" : "error";
}

// A signed URL is renewed before the player asks for more bytes with it: within 10 s of its
// expiry (a Range request may start just after the check).
export const RENEW_MARGIN_MS = 10_000;
export function needsRenewal(a: SignedAudio, now: number): boolean {
  return a.expiresAt !== null && a.expiresAt - now <= RENEW_MARGIN_MS;
}
