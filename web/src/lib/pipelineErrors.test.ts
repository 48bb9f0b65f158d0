import { describe, expect, it } from "vitest";
import type { ProviderError } from "../api/types";
import { kindLabel, providerErrorRows, providerErrorsView, statusLabel } from "./pipelineErrors";

function row(o: Partial<ProviderError>): ProviderError {
  return {
    kind: "stt",
    provider: "deepgram",
    status: 401,
    count_1h: 0,
    count_24h: 0,
    last_at: "2026-12-06T10:00:00Z",
    last_message: "",
    ...o,
  };
}

describe("providerErrorRows", () => {
  it("orders by the last hour, then the last day, then the most recent", () => {
    const rows = providerErrorRows([
      row({ provider: "a", count_1h: 1, count_24h: 50 }),
      row({ provider: "b", count_1h: 40, count_24h: 40 }),
      row({ provider: "c", count_1h: 1, count_24h: 60 }),
      row({ provider: "d", count_1h: 1, count_24h: 60, last_at: "2026-12-06T11:00:00Z" }),
    ]);
    expect(rows.map((r) => r.provider)).toEqual(["b", "d", "c", "a"]);
  });

  it("labels kinds and statuses and keeps messages as given", () => {
    const r = providerErrorRows([
      row({ kind: "llm", provider: "openai", status: 0, count_1h: 2, last_message: "<b>connection refused</b>" }),
    ])[0]!;
    expect(r.kind).toBe("LLM");
    expect(r.status).toBe("no response");
    expect(r.lastMessage).toBe("<b>connection refused</b>");
    expect(r.key).toBe("llm|openai|0");
    expect(kindLabel("stt")).toBe("Speech-to-text");
    expect(kindLabel("embedding")).toBe("Embeddings");
    expect(kindLabel("crm")).toBe("CRM");
    expect(kindLabel("fax")).toBe("fax");
    expect(statusLabel(429)).toBe("429");
  });

  it("tolerates missing and odd values", () => {
    const r = providerErrorRows([row({ count_1h: -3, count_24h: Number.NaN, last_at: null, last_message: "  " })])[0]!;
    expect(r.lastHour).toBe(0);
    expect(r.lastDay).toBe(0);
    expect(r.lastAt).toBeNull();
    expect(r.lastMessage).toBe("—");
    expect(providerErrorRows(undefined)).toEqual([]);
  });
});

describe("providerErrorsView", () => {
  it("is empty without errors, from an older gateway too", () => {
    expect(providerErrorsView({ provider_errors: [] }).state).toBe("empty");
    expect(providerErrorsView({}).state).toBe("empty");
  });

  it("shows rows", () => {
    const v = providerErrorsView({ provider_errors: [row({ count_1h: 3, count_24h: 3 })] });
    expect(v.state).toBe("rows");
    expect(v.rows).toHaveLength(1);
  });

  it("says why when Redis could not be asked", () => {
    const v = providerErrorsView({ provider_errors: [], provider_errors_error: "unavailable" });
    expect(v).toEqual({ state: "error", message: "Provider errors could not be read: unavailable", rows: [] });
  });
});
