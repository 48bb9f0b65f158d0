// The agent configs and notification settings pages' pure logic: each form turned into the
// body the API takes (libs/api/src/routes_admin_config.cpp `parse_agent`,
// libs/notify/src/settings.cpp `BusinessNotifySettings::from_json`), with the mistakes the
// server would refuse listed before sending. The server checks again; its 400 message is
// shown verbatim.
import type { Built } from "./admin";

function done<T>(problems: string[], body: T): Built<T> {
  return problems.length ? { ok: false, problems } : { ok: true, body };
}

// ---- Analysis agents (/api/v1/admin/businesses/{bid}/agents) ----

export const AGENT_KINDS = ["builtin", "llm"] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export interface AgentConfig {
  id: number;
  name: string;
  kind: AgentKind;
  prompt_template: string;
  output_schema: unknown;
  model: string;
  enabled: boolean;
  version: number;
}

export interface AgentForm {
  name: string;
  kind: string;
  prompt_template: string;
  output_schema: string; // JSON object text; empty: none
  model: string;
  enabled: boolean;
}

export interface AgentBody {
  name: string;
  kind: AgentKind;
  enabled: boolean;
  prompt_template?: string;
  output_schema?: Record<string, unknown>;
  model?: string;
}

export const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.-]*$/;

export function blankAgentForm(): AgentForm {
  return {
    name: "",
    kind: "llm",
    prompt_template: "",
    output_schema: JSON.stringify({ type: "object", properties: { summary: { type: "string" } } }, null, 2),
    model: "",
    enabled: true,
  };
}

export function agentForm(a: AgentConfig): AgentForm {
  const schema = a.output_schema;
  const empty = schema === null || schema === undefined || (typeof schema === "object" && Object.keys(schema).length === 0);
  return {
    name: a.name,
    kind: a.kind,
    prompt_template: a.prompt_template ?? "",
    output_schema: empty ? "" : JSON.stringify(schema, null, 2),
    model: a.model ?? "",
    enabled: a.enabled,
  };
}

// POST and PUT take the whole agent (PUT replaces it), so the body is the same for both.
export function agentBody(f: AgentForm): Built<AgentBody> {
  const problems: string[] = [];
  const name = f.name.trim();
  if (name === "" || name.length > 128) problems.push("Name: 1 to 128 characters.");
  else if (!AGENT_NAME.test(name)) problems.push("Name: letters, digits, space, _ . and - (starting with a letter or digit).");
  const kind = (AGENT_KINDS as readonly string[]).includes(f.kind) ? (f.kind as AgentKind) : null;
  if (!kind) problems.push("Kind: builtin or llm.");
  const body: AgentBody = { name, kind: kind ?? "llm", enabled: f.enabled };
  if (f.prompt_template.trim() === "") {
    if (kind === "llm") problems.push("Prompt template: required for an llm agent.");
  } else if (f.prompt_template.length > 100000) {
    problems.push("Prompt template: at most 100000 characters.");
  } else {
    body.prompt_template = f.prompt_template;
  }
  if (f.output_schema.trim() !== "") {
    let v: unknown;
    try {
      v = JSON.parse(f.output_schema);
      if (!v || typeof v !== "object" || Array.isArray(v)) problems.push("Output schema: a JSON schema object.");
      else body.output_schema = v as Record<string, unknown>;
    } catch (e) {
      problems.push(`Output schema: not valid JSON (${e instanceof Error ? e.message : "parse error"}).`);
    }
  }
  const model = f.model.trim();
  if (model.length > 128) problems.push("Model: at most 128 characters.");
  else if (model !== "") body.model = model;
  return done(problems, body);
}

// ---- Notification settings (/api/v1/notify/settings) ----

export const SEVERITIES = ["low", "medium", "high"] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface NotifySettings {
  crm_writeback: boolean;
  link_base_url: string;
  alerts: { email_to: string[]; chat_webhook_url: string; min_severity: Severity };
}

export interface NotifyForm {
  crm_writeback: boolean;
  link_base_url: string;
  email_to: string; // one address a line (commas also split)
  chat_webhook_url: string;
  min_severity: string;
}

export function notifyForm(s: Partial<NotifySettings>): NotifyForm {
  return {
    crm_writeback: s.crm_writeback !== false,
    link_base_url: s.link_base_url ?? "",
    email_to: (s.alerts?.email_to ?? []).join("\n"),
    chat_webhook_url: s.alerts?.chat_webhook_url ?? "",
    min_severity: s.alerts?.min_severity ?? "medium",
  };
}

// The server's e-mail rule: an @ neither first nor last, at most 254 characters, none of
// space < > , or line breaks.
export function validAlertEmail(a: string): boolean {
  const at = a.indexOf("@");
  return at > 0 && at < a.length - 1 && a.length <= 254 && !/[ <>\r\n,]/.test(a);
}

const HTTP_URL = /^https?:\/\//;

// PUT replaces the whole document, so every field is sent.
export function notifyBody(f: NotifyForm): Built<NotifySettings> {
  const problems: string[] = [];
  const emails = f.email_to
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (emails.length > 50) problems.push(`Alert e-mail addresses: at most 50 (got ${emails.length}).`);
  for (const e of emails) if (!validAlertEmail(e)) problems.push(`Alert e-mail addresses: "${e}" is not an e-mail address.`);
  const link = f.link_base_url.trim();
  if (link.length > 512) problems.push("Link base URL: at most 512 characters.");
  else if (link !== "" && !HTTP_URL.test(link)) problems.push("Link base URL: an http:// or https:// address, or empty.");
  const chat = f.chat_webhook_url.trim();
  if (chat !== "" && !HTTP_URL.test(chat)) problems.push("Chat webhook URL: an http:// or https:// address, or empty.");
  const sev = (SEVERITIES as readonly string[]).includes(f.min_severity) ? (f.min_severity as Severity) : null;
  if (!sev) problems.push("Minimum severity: low, medium or high.");
  return done(problems, {
    crm_writeback: f.crm_writeback,
    link_base_url: link,
    alerts: { email_to: emails, chat_webhook_url: chat, min_severity: sev ?? "medium" },
  });
}
