// The gateway client: the session (access token in memory only; the refresh token is an
// HttpOnly cookie this code never sees), every request's headers, and the 401 -> refresh ->
// retry-once rule.
//
// Contract (gateway refresh-cookie mode):
//   login    POST /api/v1/auth/login   {email, password, bid?, refresh_cookie: true}
//   refresh  POST /api/v1/auth/refresh X-Earshot-Refresh: cookie, body {}
//   logout   POST /api/v1/auth/logout  X-Earshot-Refresh: cookie, body {}
// each answering {access_token, token_type, expires_in, role, bid} (logout: 204).

import { ApiError, errorFromBody } from "./errors";
import type { Role, SessionBody } from "./types";

export interface Session {
  accessToken: string;
  role: Role;
  bid: string | null; // null for platform admins
  expiresAt: number; // ms since epoch
}

type Listener = () => void;

let session: Session | null = null;
// The business a platform admin acts on (sent as X-Earshot-Business on tenant routes).
let actingBid: string | null = null;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<Session | null> | null = null;
const listeners = new Set<Listener>();

export function getSession(): Session | null {
  return session;
}

export function getActingBid(): string | null {
  return session?.role === "platform_admin" ? actingBid : (session?.bid ?? null);
}

export function setActingBid(bid: string | null): void {
  actingBid = bid;
  emit();
}

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

// A snapshot that changes identity whenever the session or acting business changes
// (useSyncExternalStore).
export interface AuthSnapshot {
  session: Session | null;
  actingBid: string | null;
}
let snapshot: AuthSnapshot = { session, actingBid: getActingBid() };
export function getSnapshot(): AuthSnapshot {
  return snapshot;
}

function emit(): void {
  snapshot = { session, actingBid: getActingBid() };
  for (const l of listeners) l();
}

// Renew this long before the access token runs out (or at half its life when shorter).
const RENEW_BEFORE_MS = 60_000;

function setSession(body: SessionBody | null): Session | null {
  if (refreshTimer !== undefined) clearTimeout(refreshTimer);
  refreshTimer = undefined;
  if (!body) {
    session = null;
    actingBid = null;
  } else {
    const lifeMs = Math.max(1, body.expires_in) * 1000;
    session = {
      accessToken: body.access_token,
      role: body.role,
      bid: body.bid ?? null,
      expiresAt: Date.now() + lifeMs,
    };
    const delay = Math.max(5_000, lifeMs > 2 * RENEW_BEFORE_MS ? lifeMs - RENEW_BEFORE_MS : lifeMs / 2);
    refreshTimer = setTimeout(() => void refresh(), delay);
  }
  emit();
  return session;
}

function isSessionBody(j: unknown): j is SessionBody {
  if (!j || typeof j !== "object") return false;
  const o = j as Record<string, unknown>;
  return typeof o.access_token === "string" && typeof o.expires_in === "number" && typeof o.role === "string";
}

async function readError(res: Response): Promise<ApiError> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // body unreadable: the status alone
  }
  return errorFromBody(res.status, text);
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  try {
    return await fetch(path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", ...headers },
      body: JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The server could not be reached.");
  }
}

export async function login(email: string, password: string, bid?: string): Promise<Session> {
  const body: Record<string, unknown> = { email, password, refresh_cookie: true };
  if (bid && bid.trim() !== "") body.bid = bid.trim();
  const res = await post("/api/v1/auth/login", body);
  if (!res.ok) throw await readError(res);
  const j: unknown = await res.json();
  if (!isSessionBody(j)) throw new ApiError(res.status, "bad_response", "The server's answer was not understood.");
  return setSession(j)!;
}

// Renews the session from the refresh cookie. Concurrent callers share one request (the
// gateway rotates the token: two refreshes at once would revoke the family). Resolves null
// when there is no valid session (then the login page shows).
export function refresh(): Promise<Session | null> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const res = await post("/api/v1/auth/refresh", {}, { "X-Earshot-Refresh": "cookie" });
        if (!res.ok) {
          // A network failure or 5xx keeps the current token until it fails; 4xx ends it.
          if (res.status >= 400 && res.status < 500) return setSession(null);
          return session;
        }
        const j: unknown = await res.json();
        return isSessionBody(j) ? setSession(j) : setSession(null);
      } catch {
        return session;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

export async function logout(): Promise<void> {
  try {
    await post("/api/v1/auth/logout", {}, { "X-Earshot-Refresh": "cookie" });
  } catch {
    // signed out locally either way
  }
  setSession(null);
}

export interface ApiInit {
  method?: string;
  json?: unknown;
  body?: FormData; // a multipart body (the browser sets its Content-Type); json wins
  headers?: Record<string, string>;
  signal?: AbortSignal;
  accept?: string;
}

function requestHeaders(init: ApiInit): Headers {
  const h = new Headers(init.headers);
  h.set("Accept", init.accept ?? "application/json");
  if (session) h.set("Authorization", `Bearer ${session.accessToken}`);
  const acting = getActingBid();
  if (session?.role === "platform_admin" && acting) h.set("X-Earshot-Business", acting);
  if (init.json !== undefined) h.set("Content-Type", "application/json");
  return h;
}

// A request with the token; on 401 the session is refreshed once and the request retried.
// Resolves with any response (the caller checks ok); a network failure is ApiError status 0.
export async function apiFetch(path: string, init: ApiInit = {}): Promise<Response> {
  const send = async () => {
    try {
      return await fetch(path, {
        method: init.method ?? "GET",
        headers: requestHeaders(init),
        body: init.json === undefined ? init.body : JSON.stringify(init.json),
        credentials: "same-origin",
        signal: init.signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError(0, "network", "The server could not be reached.");
    }
  };
  const res = await send();
  if (res.status !== 401 || !session) return res;
  const renewed = await refresh();
  if (!renewed) return res;
  return send();
}

// apiFetch for a JSON answer: throws ApiError for any non-2xx status.
export async function apiJson<T>(path: string, init: ApiInit = {}): Promise<T> {
  const res = await apiFetch(path, init);
  if (!res.ok) throw await readError(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export { readError };
