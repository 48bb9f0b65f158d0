import { describe, expect, it } from "vitest";
import {
  adminPages,
  bidPath,
  canSeeAdminPage,
  newApiKeyBody,
  newBusinessBody,
  newUserBody,
  pipelineForm,
  pipelineUpdateBody,
  rulesBody,
  webhookBody,
  type PipelineConfigBody,
} from "./admin";

describe("adminPages", () => {
  it("gives viewers and analysts no admin page (the API refuses them every admin route)", () => {
    expect(adminPages("viewer")).toEqual([]);
    expect(adminPages("analyst")).toEqual([]);
    expect(canSeeAdminPage("analyst", "/admin/users")).toBe(false);
  });
  it("gives business admins the business pages but not Businesses", () => {
    const paths = adminPages("admin").map((p) => p.path);
    expect(paths).toEqual(["/admin/users", "/admin/api-keys", "/admin/webhooks", "/admin/categories", "/admin/scorecards", "/admin/pipeline", "/admin/agents", "/admin/notifications"]);
    expect(canSeeAdminPage("admin", "/admin/businesses")).toBe(false);
  });
  it("gives platform admins Businesses first, then every business page", () => {
    const paths = adminPages("platform_admin").map((p) => p.path);
    expect(paths[0]).toBe("/admin/businesses");
    expect(paths).toHaveLength(9);
  });
});

describe("newUserBody", () => {
  it("trims the email, drops an empty display name", () => {
    expect(newUserBody({ email: " a@b.co ", role: "analyst", password: "12345678", displayName: " " })).toEqual({
      ok: true,
      body: { email: "a@b.co", role: "analyst", password: "12345678" },
    });
  });
  it("reports every obvious mistake at once", () => {
    const r = newUserBody({ email: "nope", role: "platform_admin", password: "short", displayName: "" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toHaveLength(3);
  });
});

describe("newApiKeyBody", () => {
  it("keeps known scopes in the API's order", () => {
    expect(newApiKeyBody(" ci ", ["embed", "bogus", "ingest"])).toEqual({ ok: true, body: { name: "ci", scopes: ["ingest", "embed"] } });
  });
  it("needs a name and a scope", () => {
    const r = newApiKeyBody("", []);
    expect(r.ok ? [] : r.problems).toEqual(["Name: required.", "Scopes: choose at least one."]);
  });
});

describe("webhookBody", () => {
  const f = { url: " https://hooks.example.com/x ", events: ["call.failed", "call.analyzed"], description: "d", secret: "", enabled: false };
  it("create sends no enabled flag and no empty secret", () => {
    expect(webhookBody(f, "create")).toEqual({
      ok: true,
      body: { url: "https://hooks.example.com/x", events: ["call.analyzed", "call.failed"], description: "d" },
    });
  });
  it("edit sends enabled and a new secret", () => {
    const r = webhookBody({ ...f, secret: "0123456789abcdef" }, "edit");
    expect(r.ok && r.body).toMatchObject({ enabled: false, secret: "0123456789abcdef" });
  });
  it("refuses a non-http URL, no events and a short secret", () => {
    const r = webhookBody({ ...f, url: "ftp://x.example", events: [], secret: "short" }, "create");
    expect(r.ok ? [] : r.problems).toHaveLength(3);
    expect(webhookBody({ ...f, url: "not a url" }, "create").ok).toBe(false);
  });
});

describe("rulesBody", () => {
  it("builds a category with rules and a scorecard with questions", () => {
    expect(rulesBody("categories", " Refunds ", '[{"type":"transcript","phrases":["refund"]}]', true)).toEqual({
      ok: true,
      body: { name: "Refunds", rules: [{ type: "transcript", phrases: ["refund"] }], enabled: true },
    });
    const s = rulesBody("scorecards", "QA", '[{"id":"g","weight":1,"answer":{"kind":"rule"}}]', false);
    expect(s.ok && Object.keys(s.body)).toEqual(["name", "questions", "enabled"]);
  });
  it("reports invalid JSON, an empty array, non-object entries and a missing name", () => {
    const bad = rulesBody("categories", "x", "[{", true);
    expect(bad.ok ? "" : bad.problems[0]).toMatch(/^rules: not valid JSON/);
    expect(rulesBody("categories", "x", "[]", true).ok).toBe(false);
    expect(rulesBody("categories", "x", '{"type":"transcript"}', true).ok).toBe(false);
    expect(rulesBody("categories", "x", "[1]", true).ok).toBe(false);
    const noName = rulesBody("scorecards", " ", '[{"id":"a"}]', true);
    expect(noName.ok ? [] : noName.problems).toEqual(["Name: required."]);
  });
});

describe("newBusinessBody", () => {
  it("sends the first admin only when given", () => {
    expect(newBusinessBody({ bid: "acme", name: "Acme", adminEmail: "", adminPassword: "" })).toEqual({ ok: true, body: { bid: "acme", name: "Acme" } });
    const r = newBusinessBody({ bid: "acme", name: "Acme", adminEmail: "a@acme.io", adminPassword: "longenough" });
    expect(r.ok && r.body).toEqual({ bid: "acme", name: "Acme", admin_email: "a@acme.io", admin_password: "longenough" });
  });
  it("refuses a bid outside [a-z0-9_-] and a half-given first admin", () => {
    const r = newBusinessBody({ bid: "Acme Co", name: "", adminEmail: "a@acme.io", adminPassword: "" });
    expect(r.ok ? [] : r.problems).toHaveLength(3);
  });
});

describe("pipeline config", () => {
  const cfg: PipelineConfigBody = {
    source_db: { host: "db.example" },
    column_mapping: {},
    crm: {},
    lead_filter_mode: "off",
    stt_provider: "pocketsphinx",
    stt_options: {},
    llm_chain: [{ provider: "ollama", model: "m" }],
    embedding_provider: "hashed-bow",
    language: "en",
    default_country_code: "91",
    concurrency: 4,
    rate_limit_per_min: 60,
    retention_days: 365,
    hash_phone_after_analysis: false,
    channel_roles: {},
    secrets_set: ["openai_api_key"],
    version: 3,
  };
  it("sends only what changed", () => {
    const f = pipelineForm(cfg);
    expect(pipelineUpdateBody(f, cfg)).toEqual({ ok: false, problems: ["Nothing changed."] });
    f.concurrency = "8";
    f.json.source_db = '{"host": "db2.example"}';
    expect(pipelineUpdateBody(f, cfg)).toEqual({ ok: true, body: { concurrency: 8, source_db: { host: "db2.example" } } });
  });
  it("replaces a secret with a new value, removes one with null, never echoes a blank", () => {
    const f = pipelineForm(cfg);
    f.secrets = [
      { name: "openai_api_key", value: "", remove: true },
      { name: "deepgram_key", value: "s3cret", remove: false },
      { name: "", value: "", remove: false },
    ];
    expect(pipelineUpdateBody(f, cfg)).toEqual({ ok: true, body: { secrets: { openai_api_key: null, deepgram_key: "s3cret" } } });
    f.secrets = [{ name: "openai_api_key", value: "", remove: false }];
    expect(pipelineUpdateBody(f, cfg).ok).toBe(false);
  });
  it("reports out-of-range numbers and JSON of the wrong kind", () => {
    const f = pipelineForm(cfg);
    f.concurrency = "0";
    f.retention_days = "4000";
    f.default_country_code = "+91";
    f.json.llm_chain = "{}";
    f.json.crm = "nope";
    const r = pipelineUpdateBody(f, cfg);
    expect(r.ok ? [] : r.problems).toHaveLength(5);
  });
});

describe("bidPath", () => {
  it("escapes the bid", () => {
    expect(bidPath("a/b", "/users")).toBe("/api/v1/admin/businesses/a%2Fb/users");
  });
});
