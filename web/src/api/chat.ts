// Shapes of the chat and knowledge-base routes (proto/openapi.json: ChatAnswer, ChatSession,
// ChatMessage, KnowledgeDocument).

export interface ChatCitation {
  n: number;
  kind: "call" | "knowledge";
  call_id: number | null;
  start_ms: number | null;
  chunk_start_ms: number | null;
  chunk_end_ms: number | null;
  document_id: number | null;
  title: string | null;
  chunk_index: number | null;
}

export interface ChatSource extends ChatCitation {
  end_ms?: number | null;
  speaker?: string | null;
  score?: number;
  text?: string;
}

export type OfflineReason = "no_llm" | "budget_spent" | "llm_failed" | "no_sources";
export type Incomplete = "client_gone" | "timeout" | "llm_failed";

export interface ChatAnswer {
  session_id: number;
  message_id: number;
  answer: string;
  citations: ChatCitation[];
  sources: ChatSource[];
  model: string | null;
  latency_ms: number;
  llm: boolean;
  offline_reason: OfflineReason | null;
  incomplete: Incomplete | null;
}

export interface ChatSession {
  id: number;
  title: string;
  created_at: string;
  updated_at: string;
}

export interface ChatMessage {
  id: number;
  role: "user" | "assistant";
  content: string;
  sources?: ChatSource[];
  citations?: ChatCitation[];
  model?: string | null;
  latency_ms?: number;
  incomplete?: Incomplete | null;
  created_at?: string;
  // Not from the API: set by the chat page on an answer given in this visit.
  offline?: OfflineReason | null;
}

export interface ChatSessionDetail extends ChatSession {
  messages: ChatMessage[];
}

export interface Page<T> {
  items: T[];
  next_before: number | null;
}

export type KnowledgeStatus = "pending" | "ready" | "failed";

export interface KnowledgeDocument {
  id: number;
  title: string;
  content_type: string;
  status: KnowledgeStatus;
  reason?: string | null;
  version: number;
  chunk_count: number;
  model?: string | null;
  size_bytes?: number;
  sha256?: string;
  created_at: string;
  updated_at: string;
  text?: string;
}
