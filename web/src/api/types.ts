// Shapes of the gateway's answers (proto/openapi.json).

export type Role = "platform_admin" | "admin" | "analyst" | "viewer";
export const ROLES: readonly Role[] = ["platform_admin", "admin", "analyst", "viewer"];

export interface SessionBody {
  access_token: string;
  token_type: "Bearer";
  expires_in: number; // seconds
  role: Role;
  bid: string | null;
}

export interface Call {
  id: number;
  external_id: string;
  human_agent_id: number | null;
  customer_phone: string;
  customer_name: string;
  direction: "inbound" | "outbound" | "unknown";
  city: string;
  issue_category: string;
  started_at: string;
  duration_ms: number;
  channels: number;
  language: string;
  status: string;
  failed_stage: string | null;
  failed_reason: string | null;
  attempts: number;
  agent_talk_ratio: number | null;
  customer_sentiment: number | null;
  qa_score: number | null;
  status_changed_at: string;
  created_at: string;
}

export interface CallPage {
  items: Call[];
  next_cursor: string | null;
}

export interface Note {
  id: number;
  author_user_id: number | null;
  body: string;
  created_at: string;
}

export interface Analysis {
  id: number;
  agent_config_id: number;
  agent_version: number;
  output: unknown;
  model: string;
  created_at: string;
  agent?: string; // the agent config's name (e.g. "builtin.sentiment"), when the API sends it
  kind?: string; // "builtin" or "llm", when the API sends it
}

export interface Escalation {
  id: number;
  reason: string;
  severity: string;
  status: string;
  created_at: string | null;
  resolved_at: string | null;
}

export interface CallDetail extends Call {
  metadata: Record<string, unknown>;
  call_context: string;
  metrics: Record<string, unknown> | null;
  transcript: { language: string; provider: string; segments: unknown } | null;
  analyses: Analysis[];
  categories: { category_id: number; spans: unknown }[];
  qa: { score: number | null };
  escalations: Escalation[];
  notes: Note[];
}

export interface TranscriptExport {
  call_id: number;
  language: string;
  provider: string;
  segments: unknown;
  text: string;
}

export interface Business {
  bid: string;
  name: string;
  status: "active" | "disabled";
  created_at: string;
}

// One row of the pipeline status's provider_errors: failed requests to one provider with
// one status, for the caller's business (status 0: no response, a transport error).
export type ProviderKind = "stt" | "llm" | "embedding" | "crm";
export interface ProviderError {
  kind: ProviderKind | string;
  provider: string;
  status: number;
  count_1h: number;
  count_24h: number;
  last_at: string | null;
  last_message: string;
}
