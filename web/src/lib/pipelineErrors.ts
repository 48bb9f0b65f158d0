// The Pipeline page's "Provider errors" table from the status answer's provider_errors
// (docs/api.md "Pipeline"): rows by errors in the last hour, then the last 24 h, then the
// most recent; labels for the kind and the status; what to show when Redis could not be
// asked or nothing failed.
import type { ProviderError } from "../api/types";

export interface ProviderErrorRow {
  key: string;
  kind: string; // "Speech-to-text", "LLM", "Embeddings", "CRM" (or the raw kind)
  provider: string;
  status: string; // "401", or "no response" for a transport error (status 0)
  lastHour: number;
  lastDay: number;
  lastAt: string | null;
  lastMessage: string; // plain text, "—" when the provider gave none
}

export type ProviderErrorsView =
  | { state: "error"; message: string; rows: ProviderErrorRow[] }
  | { state: "empty"; rows: [] }
  | { state: "rows"; rows: ProviderErrorRow[] };

const KINDS: Record<string, string> = {
  stt: "Speech-to-text",
  llm: "LLM",
  embedding: "Embeddings",
  crm: "CRM",
};

export function kindLabel(kind: string): string {
  return KINDS[kind] ?? kind;
}

export function statusLabel(status: number): string {
  return status === 0 ? "no response" : String(status);
}

const count = (n: unknown): number => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0);

export function providerErrorRows(errors: readonly ProviderError[] | undefined | null): ProviderErrorRow[] {
  const rows = (errors ?? []).map((e) => ({
    key: `${e.kind}|${e.provider}|${e.status}`,
    kind: kindLabel(String(e.kind)),
    provider: String(e.provider),
    status: statusLabel(Number(e.status)),
    lastHour: count(e.count_1h),
    lastDay: count(e.count_24h),
    lastAt: typeof e.last_at === "string" && e.last_at !== "" ? e.last_at : null,
    lastMessage: typeof e.last_message === "string" && e.last_message.trim() !== "" ? e.last_message : "—",
  }));
  const time = (r: ProviderErrorRow) => (r.lastAt === null ? 0 : Date.parse(r.lastAt) || 0);
  return rows.sort((a, b) => b.lastHour - a.lastHour || b.lastDay - a.lastDay || time(b) - time(a));
}

export function providerErrorsView(p: {
  provider_errors?: ProviderError[];
  provider_errors_error?: string;
}): ProviderErrorsView {
  const rows = providerErrorRows(p.provider_errors);
  if (p.provider_errors_error) {
    return { state: "error", message: `Provider errors could not be read: ${p.provider_errors_error}`, rows };
  }
  return rows.length === 0 ? { state: "empty", rows: [] } : { state: "rows", rows };
}
