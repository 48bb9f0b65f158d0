// The calls list's filters and their place in the page URL's query string. The names are
// the API's own query parameters (GET /api/v1/calls), so the same query goes to the API.

export const STATUSES = [
  "pending",
  "transcribing",
  "transcribed",
  "analyzing",
  "analyzed",
  "notified",
  "failed",
] as const;
export type CallStatus = (typeof STATUSES)[number];

export const SORTS = ["started_at", "duration", "sentiment", "qa_score"] as const;
export type CallSort = (typeof SORTS)[number];

export const ORDERS = ["desc", "asc"] as const;
export type SortOrder = (typeof ORDERS)[number];

export const DIRECTIONS = ["inbound", "outbound", "unknown"] as const;
export type CallDirection = (typeof DIRECTIONS)[number];

export interface CallFilters {
  from?: string; // YYYY-MM-DD
  to?: string; // YYYY-MM-DD
  status?: CallStatus;
  category?: string; // issue category (text)
  city?: string;
  agent_id?: number;
  sentiment_min?: number;
  sentiment_max?: number;
  talk_ratio_min?: number; // agent talk ratio 0..1
  talk_ratio_max?: number;
  language?: string;
  direction?: CallDirection;
  qa_min?: number; // QA score 0..1 (the API's scale); unscored calls match neither bound
  qa_max?: number;
  category_id?: number; // a rule category the call matched
  q?: string;
  sort?: CallSort;
  order?: SortOrder;
}

// Order of the keys in a written query string (stable URLs, stable cache keys).
export const FILTER_KEYS = [
  "from",
  "to",
  "status",
  "category",
  "city",
  "agent_id",
  "sentiment_min",
  "sentiment_max",
  "talk_ratio_min",
  "talk_ratio_max",
  "language",
  "direction",
  "qa_min",
  "qa_max",
  "category_id",
  "q",
  "sort",
  "order",
] as const satisfies readonly (keyof CallFilters)[];

export interface FilterProblem {
  key: string;
  value: string;
  message: string;
}

export interface ParsedFilters {
  filters: CallFilters;
  // Values the URL held that are not valid filters: shown to the user, never dropped silently.
  problems: FilterProblem[];
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

function validDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

const MAX_TEXT: Record<"category" | "city" | "language" | "q", number> = { category: 128, city: 128, language: 16, q: 256 };

// The query string for `f`: empty values (undefined, blank text, NaN) are left out, text
// is trimmed. The result has no leading "?".
export function filtersToQuery(f: CallFilters): string {
  const p = new URLSearchParams();
  for (const key of FILTER_KEYS) {
    const v = f[key];
    if (v === undefined || v === null) continue;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) continue;
      p.set(key, String(v));
    } else {
      const t = v.trim();
      if (t === "") continue;
      p.set(key, t);
    }
  }
  return p.toString();
}

// Parses a query string (with or without "?") into filters. Unknown keys are ignored only
// when they belong to the page rather than the filters (none today): every other key or
// invalid value becomes a problem, so a mistyped URL is reported rather than quietly
// showing unfiltered calls. Empty values are dropped (an empty form field).
export function queryToFilters(query: string | URLSearchParams): ParsedFilters {
  const p = typeof query === "string" ? new URLSearchParams(query.startsWith("?") ? query.slice(1) : query) : query;
  const filters: CallFilters = {};
  const problems: FilterProblem[] = [];
  const known = new Set<string>(FILTER_KEYS);
  const seen = new Set<string>();
  p.forEach((raw, key) => {
    const value = raw.trim();
    if (!known.has(key)) {
      problems.push({ key, value: raw, message: `unknown filter "${key}"` });
      return;
    }
    if (seen.has(key)) {
      problems.push({ key, value: raw, message: `"${key}" is given more than once; the first value is used` });
      return;
    }
    seen.add(key);
    if (value === "") return;
    const bad = (message: string) => problems.push({ key, value: raw, message });
    switch (key) {
      case "from":
      case "to":
        if (validDate(value)) filters[key] = value;
        else bad(`${key} must be a date YYYY-MM-DD`);
        break;
      case "status":
        if ((STATUSES as readonly string[]).includes(value)) filters.status = value as CallStatus;
        else bad(`status must be one of ${STATUSES.join(", ")}`);
        break;
      case "sort":
        if ((SORTS as readonly string[]).includes(value)) filters.sort = value as CallSort;
        else bad(`sort must be one of ${SORTS.join(", ")}`);
        break;
      case "order":
        if ((ORDERS as readonly string[]).includes(value)) filters.order = value as SortOrder;
        else bad("order must be asc or desc");
        break;
      case "category":
      case "city":
      case "language":
      case "q":
        if (value.length <= MAX_TEXT[key]) filters[key] = value;
        else bad(`${key} is longer than ${MAX_TEXT[key]} characters`);
        break;
      case "direction":
        if ((DIRECTIONS as readonly string[]).includes(value)) filters.direction = value as CallDirection;
        else bad(`direction must be one of ${DIRECTIONS.join(", ")}`);
        break;
      case "agent_id":
      case "category_id": {
        const n = /^\d+$/.test(value) ? Number(value) : NaN;
        if (Number.isSafeInteger(n) && n >= 1) filters[key] = n;
        else bad(`${key} must be a whole number of 1 or more`);
        break;
      }
      case "sentiment_min":
      case "sentiment_max": {
        const n = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
        if (Number.isFinite(n) && n >= -1 && n <= 1) filters[key] = n;
        else bad(`${key} must be a number from -1 to 1`);
        break;
      }
      case "talk_ratio_min":
      case "talk_ratio_max":
      case "qa_min":
      case "qa_max": {
        const n = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
        if (Number.isFinite(n) && n >= 0 && n <= 1) filters[key] = n;
        else bad(`${key} must be a number from 0 to 1`);
        break;
      }
    }
  });
  if (
    filters.sentiment_min !== undefined &&
    filters.sentiment_max !== undefined &&
    filters.sentiment_min > filters.sentiment_max
  ) {
    problems.push({
      key: "sentiment_min",
      value: String(filters.sentiment_min),
      message: "sentiment_min is above sentiment_max: no call can match",
    });
  }
  if (
    filters.talk_ratio_min !== undefined &&
    filters.talk_ratio_max !== undefined &&
    filters.talk_ratio_min > filters.talk_ratio_max
  ) {
    problems.push({
      key: "talk_ratio_min",
      value: String(filters.talk_ratio_min),
      message: "talk_ratio_min is above talk_ratio_max: no call can match",
    });
  }
  if (filters.qa_min !== undefined && filters.qa_max !== undefined && filters.qa_min > filters.qa_max) {
    problems.push({ key: "qa_min", value: String(filters.qa_min), message: "qa_min is above qa_max: no call can match" });
  }
  if (filters.from !== undefined && filters.to !== undefined && filters.from > filters.to) {
    problems.push({ key: "from", value: filters.from, message: "from is after to: no call can match" });
  }
  return { filters, problems };
}

// The list's filters without its sort and order: the query the bulk reprocess route
// (POST /api/v1/calls/reprocess) takes, which refuses sort and order.
export function filtersOnlyQuery(f: CallFilters): string {
  const { sort: _sort, order: _order, ...rest } = f;
  return filtersToQuery(rest);
}
