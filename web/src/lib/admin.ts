// The admin pages' pure logic: which pages a role sees, and each form turned into the
// request body the API takes (proto/openapi.json), with the obvious mistakes caught before
// sending. The server validates everything again; its 400 message is shown verbatim.

// Which admin pages a role sees: src/lib/adminPages.ts (small, in the first-load bundle).
export { adminPages, canSeeAdminPage, type AdminPage } from "./adminPages";

export type Built<T> = { ok: true; body: T } | { ok: false; problems: string[] };

function done<T>(problems: string[], body: T): Built<T> {
  return problems.length ? { ok: false, problems } : { ok: true, body };
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
export const USER_ROLES = ["admin", "analyst", "viewer"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserForm {
  email: string;
  role: string;
  password: string;
  displayName: string;
}

export function newUserBody(f: UserForm): Built<{ email: string; role: UserRole; password: string; display_name?: string }> {
  const problems: string[] = [];
  const email = f.email.trim();
  if (!EMAIL.test(email)) problems.push("Email: enter an address like name@example.com.");
  if (!(USER_ROLES as readonly string[]).includes(f.role)) problems.push("Role: choose admin, analyst or viewer.");
  if (f.password.length < 8) problems.push("Password: at least 8 characters.");
  const body: { email: string; role: UserRole; password: string; display_name?: string } = {
    email,
    role: f.role as UserRole,
    password: f.password,
  };
  if (f.displayName.trim() !== "") body.display_name = f.displayName.trim();
  return done(problems, body);
}

export const API_KEY_SCOPES = ["ingest", "read", "embed"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export function newApiKeyBody(name: string, scopes: readonly string[]): Built<{ name: string; scopes: ApiKeyScope[] }> {
  const problems: string[] = [];
  const n = name.trim();
  if (n === "") problems.push("Name: required.");
  const known = API_KEY_SCOPES.filter((s) => scopes.includes(s));
  if (known.length === 0) problems.push("Scopes: choose at least one.");
  return done(problems, { name: n, scopes: known });
}

export const WEBHOOK_EVENTS = ["call.analyzed", "call.failed", "escalation.created", "category.matched", "webhook.test"] as const;

export interface WebhookForm {
  url: string;
  events: readonly string[];
  description: string;
  secret: string; // empty: keep (edit) or let the server generate one (create)
  enabled: boolean;
}

export interface WebhookBody {
  url: string;
  events: string[];
  description: string;
  enabled?: boolean;
  secret?: string;
}

// create: POST takes no `enabled` (a new subscription is enabled); edit: PATCH takes it.
export function webhookBody(f: WebhookForm, mode: "create" | "edit"): Built<WebhookBody> {
  const problems: string[] = [];
  const url = f.url.trim();
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
    problems.push("URL: enter an http:// or https:// address.");
  } else if (url.length > 2048) {
    problems.push("URL: at most 2048 characters.");
  }
  const events = WEBHOOK_EVENTS.filter((e) => f.events.includes(e));
  if (events.length === 0) problems.push("Events: choose at least one.");
  if (f.description.length > 255) problems.push("Description: at most 255 characters.");
  if (f.secret !== "" && (f.secret.length < 16 || f.secret.length > 256)) {
    problems.push("Signing secret: 16 to 256 characters, or leave it empty.");
  }
  const body: WebhookBody = { url, events: [...events], description: f.description };
  if (mode === "edit") body.enabled = f.enabled;
  if (f.secret !== "") body.secret = f.secret;
  return done(problems, body);
}

// Categories carry `rules`, scorecards `questions`: the editor's textarea holds that array.
export type RulesKind = "categories" | "scorecards";
export const RULES_FIELD: Record<RulesKind, "rules" | "questions"> = { categories: "rules", scorecards: "questions" };

export function rulesBody(
  kind: RulesKind,
  name: string,
  json: string,
  enabled: boolean,
): Built<Record<string, unknown>> {
  const field = RULES_FIELD[kind];
  const problems: string[] = [];
  const n = name.trim();
  if (n === "") problems.push("Name: required.");
  let value: unknown = null;
  try {
    value = JSON.parse(json);
  } catch (e) {
    problems.push(`${field}: not valid JSON (${e instanceof Error ? e.message : "parse error"}).`);
    return { ok: false, problems };
  }
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${field}: a JSON array with at least one entry.`);
  } else if (value.some((v) => !v || typeof v !== "object" || Array.isArray(v))) {
    problems.push(`${field}: every entry is a JSON object.`);
  }
  return done(problems, { name: n, [field]: value, enabled });
}

export const NEW_BID = /^[a-z0-9_-]{1,64}$/;

export interface BusinessForm {
  bid: string;
  name: string;
  adminEmail: string;
  adminPassword: string;
}

export function newBusinessBody(f: BusinessForm): Built<Record<string, string>> {
  const problems: string[] = [];
  const bid = f.bid.trim();
  if (!NEW_BID.test(bid)) problems.push("Business id: 1 to 64 of a-z, 0-9, _ and -.");
  const name = f.name.trim();
  if (name === "") problems.push("Name: required.");
  const body: Record<string, string> = { bid, name };
  const email = f.adminEmail.trim();
  if (email !== "" || f.adminPassword !== "") {
    if (!EMAIL.test(email)) problems.push("First admin's email: enter an address like name@example.com.");
    if (f.adminPassword.length < 8) problems.push("First admin's password: at least 8 characters.");
    body.admin_email = email;
    body.admin_password = f.adminPassword;
  }
  return done(problems, body);
}

// Pipeline config. The scalar fields are form inputs, the JSON sections textareas; only
// fields that changed are sent (omitted fields keep their value). Secrets are write-only:
// a new value replaces one, `remove` sends null.
export const PIPELINE_JSON_FIELDS = ["source_db", "column_mapping", "crm", "stt_options", "llm_chain", "channel_roles"] as const;
export const STT_PROVIDERS = ["pocketsphinx", "local", "none", "sarvam", "deepgram", "openai", "whisper_cpp"] as const;
export const LEAD_FILTER_MODES = ["off", "prefer", "require"] as const;

export interface PipelineForm {
  lead_filter_mode: string;
  stt_provider: string;
  embedding_provider: string;
  language: string;
  default_country_code: string;
  concurrency: string;
  rate_limit_per_min: string;
  retention_days: string;
  hash_phone_after_analysis: boolean;
  json: Record<(typeof PIPELINE_JSON_FIELDS)[number], string>;
  secrets: { name: string; value: string; remove: boolean }[];
}

export type PipelineConfigBody = Record<string, unknown> & { secrets_set?: string[]; version?: number };

export function pipelineForm(c: PipelineConfigBody): PipelineForm {
  const str = (k: string) => (c[k] === undefined || c[k] === null ? "" : String(c[k]));
  const json = {} as PipelineForm["json"];
  for (const k of PIPELINE_JSON_FIELDS) json[k] = JSON.stringify(c[k] ?? (k === "llm_chain" ? [] : {}), null, 2);
  return {
    lead_filter_mode: str("lead_filter_mode"),
    stt_provider: str("stt_provider"),
    embedding_provider: str("embedding_provider"),
    language: str("language"),
    default_country_code: str("default_country_code"),
    concurrency: str("concurrency"),
    rate_limit_per_min: str("rate_limit_per_min"),
    retention_days: str("retention_days"),
    hash_phone_after_analysis: c.hash_phone_after_analysis === true,
    json,
    secrets: [],
  };
}

function intIn(label: string, v: string, lo: number, hi: number, problems: string[]): number | undefined {
  const t = v.trim();
  if (!/^[0-9]+$/.test(t) || Number(t) < lo || Number(t) > hi) {
    problems.push(`${label}: a whole number from ${lo} to ${hi}.`);
    return undefined;
  }
  return Number(t);
}

const SECRET_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

export function pipelineUpdateBody(f: PipelineForm, original: PipelineConfigBody): Built<Record<string, unknown>> {
  const problems: string[] = [];
  const body: Record<string, unknown> = {};
  const put = (k: string, v: unknown) => {
    if (JSON.stringify(v) !== JSON.stringify(original[k])) body[k] = v;
  };
  if (!(LEAD_FILTER_MODES as readonly string[]).includes(f.lead_filter_mode)) problems.push("Lead filter: off, prefer or require.");
  else put("lead_filter_mode", f.lead_filter_mode);
  if (!(STT_PROVIDERS as readonly string[]).includes(f.stt_provider)) problems.push("Transcriber: choose one of the list.");
  else put("stt_provider", f.stt_provider);
  if (f.embedding_provider.trim() === "") problems.push("Embedding provider: required.");
  else put("embedding_provider", f.embedding_provider.trim());
  put("language", f.language.trim());
  if (!/^[0-9]{1,3}$/.test(f.default_country_code.trim())) problems.push("Default country code: 1 to 3 digits.");
  else put("default_country_code", f.default_country_code.trim());
  const conc = intIn("Concurrency", f.concurrency, 1, 256, problems);
  if (conc !== undefined) put("concurrency", conc);
  const rate = intIn("Rate limit per minute", f.rate_limit_per_min, 1, 100000, problems);
  if (rate !== undefined) put("rate_limit_per_min", rate);
  const ret = intIn("Retention days", f.retention_days, 1, 3650, problems);
  if (ret !== undefined) put("retention_days", ret);
  put("hash_phone_after_analysis", f.hash_phone_after_analysis);
  for (const k of PIPELINE_JSON_FIELDS) {
    let v: unknown;
    try {
      v = JSON.parse(f.json[k]);
    } catch {
      problems.push(`${k}: not valid JSON.`);
      continue;
    }
    const wantArray = k === "llm_chain";
    if (wantArray ? !Array.isArray(v) : !v || typeof v !== "object" || Array.isArray(v)) {
      problems.push(`${k}: a JSON ${wantArray ? "array" : "object"}.`);
      continue;
    }
    put(k, v);
  }
  const secrets: Record<string, string | null> = {};
  for (const s of f.secrets) {
    const name = s.name.trim();
    if (name === "" && s.value === "" && !s.remove) continue;
    if (!SECRET_NAME.test(name)) {
      problems.push(`Secret name "${name}": 1 to 128 of letters, digits, _ . and -.`);
      continue;
    }
    if (s.remove) secrets[name] = null;
    else if (s.value !== "") secrets[name] = s.value;
    else problems.push(`Secret ${name}: enter the new value, or mark it for removal.`);
  }
  if (Object.keys(secrets).length) body.secrets = secrets;
  if (!problems.length && Object.keys(body).length === 0) problems.push("Nothing changed.");
  return done(problems, body);
}

export function bidPath(bid: string, rest: string): string {
  return `/api/v1/admin/businesses/${encodeURIComponent(bid)}${rest}`;
}
