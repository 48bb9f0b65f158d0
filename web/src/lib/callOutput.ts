// An LLM agent's JSON output turned into a small document tree the call page renders:
// objects become definition lists with humanised keys, arrays of scalars bullets, arrays of
// flat objects tables (nested lists when their values are not flat), booleans Yes/No,
// numbers formatted. Nesting is bounded; every string stays text (the renderer never makes
// HTML from it).

import { humanize } from "./callAnalyses";

export type OutNode =
  | { t: "text"; text: string; muted?: boolean }
  | { t: "bool"; value: boolean }
  | { t: "list"; items: OutNode[] }
  | { t: "dl"; entries: { key: string; label: string; value: OutNode }[] }
  | { t: "table"; columns: { key: string; label: string }[]; rows: OutNode[][] };

export const MAX_DEPTH = 6;
const MAX_ITEMS = 200; // per list or table; the rest is counted
const MAX_TABLE_COLUMNS = 8;

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);

const numberFormat = new Intl.NumberFormat("en", { maximumFractionDigits: 3 });

export function formatValue(v: number): string {
  return Number.isFinite(v) ? numberFormat.format(v) : String(v);
}

function scalarNode(v: unknown): OutNode {
  if (v === null || v === undefined) return { t: "text", text: "—", muted: true };
  if (typeof v === "boolean") return { t: "bool", value: v };
  if (typeof v === "number") return { t: "text", text: formatValue(v) };
  if (typeof v === "string") return v === "" ? { t: "text", text: "—", muted: true } : { t: "text", text: v };
  return { t: "text", text: String(v) };
}

function more(n: number): OutNode {
  return { t: "text", text: `… and ${n} more`, muted: true };
}

export function outputTree(v: unknown, depth = 0): OutNode {
  if (isScalar(v) || v === undefined) return scalarNode(v);
  if (depth >= MAX_DEPTH) return { t: "text", text: "…", muted: true };
  if (Array.isArray(v)) {
    if (v.length === 0) return { t: "text", text: "none", muted: true };
    const shown = v.slice(0, MAX_ITEMS);
    // Flat objects with few distinct keys: a table.
    if (shown.every((x) => isObj(x) && Object.values(x).every(isScalar))) {
      const keys: string[] = [];
      for (const x of shown) for (const k of Object.keys(x as object)) if (!keys.includes(k)) keys.push(k);
      if (keys.length > 0 && keys.length <= MAX_TABLE_COLUMNS) {
        const rows = shown.map((x) => keys.map((k) => scalarNode((x as Record<string, unknown>)[k])));
        const node: OutNode = { t: "table", columns: keys.map((k) => ({ key: k, label: humanize(k) })), rows };
        return v.length > MAX_ITEMS ? { t: "list", items: [node, more(v.length - MAX_ITEMS)] } : node;
      }
    }
    const items = shown.map((x) => outputTree(x, depth + 1));
    if (v.length > MAX_ITEMS) items.push(more(v.length - MAX_ITEMS));
    return { t: "list", items };
  }
  if (isObj(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return { t: "text", text: "empty", muted: true };
    return {
      t: "dl",
      entries: entries.slice(0, MAX_ITEMS).map(([k, x]) => ({ key: k, label: humanize(k), value: outputTree(x, depth + 1) })),
    };
  }
  return scalarNode(String(v));
}

// The text of a tree (tests, and a quick look at what the renderer shows).
export function treeText(n: OutNode): string {
  switch (n.t) {
    case "text":
      return n.text;
    case "bool":
      return n.value ? "Yes" : "No";
    case "list":
      return n.items.map((i) => `• ${treeText(i)}`).join("\n");
    case "dl":
      return n.entries.map((e) => `${e.label}: ${treeText(e.value)}`).join("\n");
    case "table":
      return [n.columns.map((c) => c.label).join(" | "), ...n.rows.map((r) => r.map(treeText).join(" | "))].join("\n");
  }
}
