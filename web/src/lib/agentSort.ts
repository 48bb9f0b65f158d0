// The agents leaderboard's sort: every column, in the URL as `sort` / `order`.

import type { AgentRow } from "../api/analytics";

export const AGENT_SORT_KEYS = [
  "name",
  "team",
  "city",
  "total_calls",
  "avg_sentiment",
  "avg_talk_ratio",
  "qa_score",
  "escalations",
] as const;
export type AgentSortKey = (typeof AGENT_SORT_KEYS)[number];
export type Order = "asc" | "desc";

const TEXT_KEYS: ReadonlySet<AgentSortKey> = new Set(["name", "team", "city"]);

export interface AgentSort {
  key: AgentSortKey;
  order: Order;
}

export const DEFAULT_AGENT_SORT: AgentSort = { key: "avg_sentiment", order: "desc" };

// Text columns start A..Z, figures start highest first.
export function defaultOrder(key: AgentSortKey): Order {
  return TEXT_KEYS.has(key) ? "asc" : "desc";
}

export function parseAgentSort(params: URLSearchParams): { sort: AgentSort; problems: string[] } {
  const problems: string[] = [];
  const rawKey = params.get("sort");
  const rawOrder = params.get("order");
  let key = DEFAULT_AGENT_SORT.key;
  if (rawKey !== null && rawKey !== "") {
    if ((AGENT_SORT_KEYS as readonly string[]).includes(rawKey)) key = rawKey as AgentSortKey;
    else problems.push(`Unknown sort column “${rawKey}”`);
  }
  let order: Order = rawKey ? defaultOrder(key) : DEFAULT_AGENT_SORT.order;
  if (rawOrder !== null && rawOrder !== "") {
    if (rawOrder === "asc" || rawOrder === "desc") order = rawOrder;
    else problems.push(`Order must be asc or desc (got “${rawOrder}”)`);
  }
  return { sort: { key, order }, problems };
}

// Clicking a column: the same column flips its order; another starts at its default order.
export function nextSort(current: AgentSort, key: AgentSortKey): AgentSort {
  if (current.key === key) return { key, order: current.order === "asc" ? "desc" : "asc" };
  return { key, order: defaultOrder(key) };
}

function display(r: AgentRow): string {
  return r.name || r.external_id;
}

// Sorted copy. Missing values (null, empty text) go last in either order; ties by id.
export function sortAgents(rows: AgentRow[], s: AgentSort): AgentRow[] {
  const dir = s.order === "asc" ? 1 : -1;
  const value = (r: AgentRow): string | number | null => {
    if (s.key === "name") return display(r) || null;
    if (s.key === "team" || s.key === "city") return r[s.key] || null;
    const v = r[s.key];
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  };
  return rows
    .map((r) => ({ r, v: value(r) }))
    .sort((a, b) => {
      if (a.v === null || b.v === null) {
        if (a.v !== b.v) return a.v === null ? 1 : -1;
        return a.r.id - b.r.id;
      }
      const c =
        typeof a.v === "string" && typeof b.v === "string"
          ? a.v.localeCompare(b.v, undefined, { sensitivity: "base", numeric: true })
          : (a.v as number) - (b.v as number);
      return c !== 0 ? c * dir : a.r.id - b.r.id;
    })
    .map((x) => x.r);
}
