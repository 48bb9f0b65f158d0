import { describe, expect, it } from "vitest";
import { agentBody, agentForm, blankAgentForm, notifyBody, notifyForm, validAlertEmail, type AgentConfig } from "./adminConfig";

describe("agentBody", () => {
  const ok = { ...blankAgentForm(), name: "Summary v2", prompt_template: "Summarise {{transcript}}", model: " gpt-x " };

  it("builds the whole agent with the schema parsed and the model trimmed", () => {
    const b = agentBody(ok);
    expect(b).toEqual({
      ok: true,
      body: {
        name: "Summary v2",
        kind: "llm",
        enabled: true,
        prompt_template: "Summarise {{transcript}}",
        output_schema: { type: "object", properties: { summary: { type: "string" } } },
        model: "gpt-x",
      },
    });
  });

  it("leaves out an empty schema, prompt (builtin) and model instead of sending blanks", () => {
    const b = agentBody({ name: "outcome", kind: "builtin", prompt_template: " ", output_schema: "", model: "", enabled: false });
    expect(b).toEqual({ ok: true, body: { name: "outcome", kind: "builtin", enabled: false } });
  });

  it("reports every mistake the server would refuse", () => {
    const b = agentBody({ name: "-bad/name", kind: "robot", prompt_template: "", output_schema: "[1]", model: "m".repeat(129), enabled: true });
    expect(b.ok).toBe(false);
    if (b.ok) return;
    expect(b.problems).toHaveLength(4);
    expect(b.problems.join(" ")).toMatch(/Name/);
    expect(b.problems.join(" ")).toMatch(/Kind/);
    expect(b.problems.join(" ")).toMatch(/Output schema: a JSON schema object/);
    expect(b.problems.join(" ")).toMatch(/Model/);
  });

  it("requires a prompt for an llm agent and valid JSON for the schema", () => {
    const b = agentBody({ ...ok, prompt_template: "", output_schema: "{oops" });
    expect(b.ok).toBe(false);
    if (b.ok) return;
    expect(b.problems[0]).toMatch(/Prompt template: required/);
    expect(b.problems[1]).toMatch(/not valid JSON/);
  });

  it("round-trips an agent from the list through the form", () => {
    const a: AgentConfig = {
      id: 3,
      name: "qa",
      kind: "llm",
      prompt_template: "Score it",
      output_schema: { type: "object" },
      model: "",
      enabled: true,
      version: 4,
    };
    const b = agentBody(agentForm(a));
    expect(b).toEqual({ ok: true, body: { name: "qa", kind: "llm", enabled: true, prompt_template: "Score it", output_schema: { type: "object" } } });
    expect(agentForm({ ...a, output_schema: {} }).output_schema).toBe("");
  });
});

describe("notifyBody", () => {
  it("sends every field, the addresses split by line or comma", () => {
    const f = { ...notifyForm({}), email_to: "qa@acme.test\n ops@acme.test, \n", chat_webhook_url: " https://hooks.example/x ", min_severity: "high" };
    expect(notifyBody(f)).toEqual({
      ok: true,
      body: {
        crm_writeback: true,
        link_base_url: "",
        alerts: { email_to: ["qa@acme.test", "ops@acme.test"], chat_webhook_url: "https://hooks.example/x", min_severity: "high" },
      },
    });
  });

  it("fills the form from the server's document and back unchanged", () => {
    const s = {
      crm_writeback: false,
      link_base_url: "https://app.example.com",
      alerts: { email_to: ["a@b.c"], chat_webhook_url: "", min_severity: "low" as const },
    };
    expect(notifyBody(notifyForm(s))).toEqual({ ok: true, body: s });
  });

  it("reports bad addresses, URLs, severity and too many addresses", () => {
    const many = Array.from({ length: 51 }, (_, i) => `u${i}@x.y`).join("\n");
    const b = notifyBody({ crm_writeback: true, link_base_url: "app.example.com", email_to: `${many}\n@x.y\nname <a@b.c>`, chat_webhook_url: "ftp://x", min_severity: "urgent" });
    expect(b.ok).toBe(false);
    if (b.ok) return;
    expect(b.problems.some((p) => /at most 50 \(got 53\)/.test(p))).toBe(true);
    expect(b.problems.filter((p) => /is not an e-mail address/.test(p))).toHaveLength(2);
    expect(b.problems.some((p) => p.startsWith("Link base URL"))).toBe(true);
    expect(b.problems.some((p) => p.startsWith("Chat webhook URL"))).toBe(true);
    expect(b.problems.some((p) => p.startsWith("Minimum severity"))).toBe(true);
  });

  it("applies the server's e-mail rule", () => {
    expect(validAlertEmail("qa@acme.test")).toBe(true);
    for (const bad of ["@acme.test", "qa@", "qa", "q a@x.y", `${"a".repeat(250)}@x.yz`]) expect(validAlertEmail(bad), bad).toBe(false);
  });
});
