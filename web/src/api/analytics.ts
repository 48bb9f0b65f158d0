// Shapes of the analytics and pipeline answers (libs/api/src/routes_analytics.cpp,
// routes_pipeline.cpp; docs/api.md "Analytics" and "Pipeline").

import type { ProviderError } from "./types";

export interface Benchmarks {
  agent_talk_ratio: { top_reps: number; risk_above: number };
}

export interface Overview {
  from: string;
  to: string;
  calls: number;
  // day: "YYYY-MM-DD" at the request's utc_offset_minutes (UTC without it); days without
  // calls absent. The averages: null on a day without a value (absent from older servers).
  volume_by_day: {
    day: string;
    calls: number;
    avg_customer_sentiment?: number | null;
    avg_qa_score?: number | null;
    avg_agent_talk_ratio?: number | null;
  }[];
  volume_by_hour: { hour: number; calls: number }[]; // hour 0..23 at the request's offset
  sentiment_distribution: { negative: number; neutral: number; positive: number; unscored: number };
  categories: { category: string; calls: number }[];
  issue_categories: { issue_category: string; calls: number }[];
  escalated_calls: number;
  escalation_rate: number | null;
  averages: {
    agent_talk_ratio: number | null;
    customer_sentiment: number | null;
    qa_score: number | null;
    duration_ms: number | null;
  };
  benchmarks: Benchmarks;
}

export interface AgentRow {
  id: number;
  external_id: string;
  name: string;
  team: string;
  city: string;
  total_calls: number;
  avg_sentiment: number | null;
  avg_talk_ratio: number | null;
  qa_score: number | null;
  escalations: number;
  talk_ratio_above_risk: boolean | null;
}

export interface AgentList {
  items: AgentRow[];
  benchmarks: Benchmarks;
}

export interface AgentDay {
  day: string; // "YYYY-MM-DD" at the request's utc_offset_minutes (UTC without it)
  calls: number;
  avg_sentiment: number | null;
  avg_talk_ratio: number | null;
  qa_score: number | null;
}

// One entry per recent analysed call (at: ms since the epoch).
export interface AgentTrendEntry {
  call_id: number;
  at: number;
  talk_ratio: number | null;
  sentiment: number | null;
  qa_score: number | null;
}

export interface AgentDetail extends AgentRow {
  trend: unknown; // stored JSON, normally AgentTrendEntry[]
  daily: AgentDay[];
  benchmarks: Benchmarks;
}

export interface RegionRow {
  region: string;
  calls: number;
  avg_sentiment: number | null;
  avg_talk_ratio: number | null;
  qa_score: number | null;
  escalated_calls: number;
}

export interface RegionList {
  group: "city" | "state";
  items: RegionRow[];
}

export interface QueueStatus {
  stage: string;
  queue: string;
  depth: number | null;
  dead_letter_queue: string;
  dead_letters: number | null;
  error?: string; // the broker could not be asked
}

export interface PipelineStatus {
  calls_by_status: Record<string, number>;
  watermarks: { source: string; position: string; updated_at: string }[];
  queues: QueueStatus[];
  recent_failures: {
    id: number;
    external_id: string;
    stage: string;
    reason: string;
    attempts: number;
    failed_at: string;
  }[];
  // Absent from gateways older than the provider errors.
  provider_errors?: ProviderError[];
  provider_errors_error?: string; // Redis could not be asked: the reason
}
