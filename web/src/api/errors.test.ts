import { describe, expect, it } from "vitest";
import { errorFromBody } from "./errors";

describe("errorFromBody", () => {
  it("takes the gateway's code and message", () => {
    const e = errorFromBody(401, '{"error":{"code":"unauthenticated","message":"wrong e-mail or password"}}');
    expect([e.status, e.code, e.message]).toEqual([401, "unauthenticated", "wrong e-mail or password"]);
  });
  it("falls back to a message from the status for other bodies", () => {
    expect(errorFromBody(502, "<html>Bad gateway</html>").message).toMatch(/HTTP 502/);
    expect(errorFromBody(429, "").message).toMatch(/Too many/);
    expect(errorFromBody(400, '{"error":{"code":"x"}}').message).toMatch(/HTTP 400/);
  });
});
