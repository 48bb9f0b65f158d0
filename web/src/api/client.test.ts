import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { apiFetch, getSession, login, logout, refresh } from "./client";

const sessionBody = (token: string) =>
  new Response(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 900, role: "analyst", bid: "acme" }), {
    status: 200,
    headers: { "Content-Type": "application/json" },
  });

type Call = { url: string; init: RequestInit };

function stubFetch(handler: (url: string, init: RequestInit) => Response | Promise<Response>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", (url: string, init: RequestInit) => {
    calls.push({ url, init });
    return Promise.resolve(handler(url, init));
  });
  return calls;
}

const header = (c: Call, name: string) => new Headers(c.init.headers).get(name);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  stubFetch(() => new Response(null, { status: 204 }));
  await logout();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("session", () => {
  it("logs in asking for the refresh cookie and keeps the token in memory", async () => {
    const calls = stubFetch(() => sessionBody("t1"));
    await login("a@b.c", "pw", " acme ");
    expect(JSON.parse(String(calls[0]!.init.body))).toEqual({
      email: "a@b.c",
      password: "pw",
      bid: "acme",
      refresh_cookie: true,
    });
    expect(getSession()?.accessToken).toBe("t1");
  });

  it("on a 401 refreshes once with the cookie header and retries with the new token", async () => {
    stubFetch(() => sessionBody("old"));
    await login("a@b.c", "pw");
    const calls = stubFetch((url, init) => {
      if (url === "/api/v1/auth/refresh") return sessionBody("new");
      const auth = new Headers(init.headers).get("Authorization");
      return new Response(null, { status: auth === "Bearer new" ? 200 : 401 });
    });
    const res = await apiFetch("/api/v1/calls");
    expect(res.status).toBe(200);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/calls", "/api/v1/auth/refresh", "/api/v1/calls"]);
    expect(header(calls[1]!, "X-Earshot-Refresh")).toBe("cookie");
    expect(calls[1]!.init.body).toBe("{}");
    expect(calls[1]!.init.credentials).toBe("same-origin");
    expect(header(calls[2]!, "Authorization")).toBe("Bearer new");
  });

  it("does not retry a second time when the retry is 401 too", async () => {
    stubFetch(() => sessionBody("old"));
    await login("a@b.c", "pw");
    const calls = stubFetch((url) => (url === "/api/v1/auth/refresh" ? sessionBody("new") : new Response(null, { status: 401 })));
    expect((await apiFetch("/api/v1/calls")).status).toBe(401);
    expect(calls).toHaveLength(3);
  });

  it("shares one refresh between concurrent callers", async () => {
    const calls = stubFetch(() => sessionBody("r"));
    const [a, b] = await Promise.all([refresh(), refresh()]);
    expect(a).toBe(b);
    expect(calls).toHaveLength(1);
  });

  it("ends the session when refresh is refused", async () => {
    stubFetch(() => sessionBody("t"));
    await login("a@b.c", "pw");
    stubFetch(() => new Response('{"error":{"code":"unauthenticated","message":"x"}}', { status: 401 }));
    expect(await refresh()).toBeNull();
    expect(getSession()).toBeNull();
  });

  it("renews the token before it expires", async () => {
    stubFetch(() => sessionBody("t"));
    await login("a@b.c", "pw");
    const calls = stubFetch(() => sessionBody("t2"));
    await vi.advanceTimersByTimeAsync(900_000 - 61_000);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/auth/refresh"]);
    expect(getSession()?.accessToken).toBe("t2");
  });
});
