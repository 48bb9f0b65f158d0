import { describe, expect, it } from "vitest";
import type { AgentRow } from "../api/analytics";
import { nextSort, parseAgentSort, sortAgents } from "./agentSort";

function agent(id: number, o: Partial<AgentRow>): AgentRow {
  return {
    id,
    external_id: `ext-${id}`,
    name: "",
    team: "",
    city: "",
    total_calls: 0,
    avg_sentiment: null,
    avg_talk_ratio: null,
    qa_score: null,
    escalations: 0,
    talk_ratio_above_risk: null,
    ...o,
  };
}

const rows = [
  agent(1, { name: "bob", avg_sentiment: 0.2, total_calls: 5, team: "b" }),
  agent(2, { name: "Alice", avg_sentiment: null, total_calls: 9, team: "" }),
  agent(3, { name: "carol", avg_sentiment: 0.7, total_calls: 5, team: "a" }),
  agent(4, { name: "", avg_sentiment: -0.1, total_calls: 1, team: "a" }),
];
const ids = (r: AgentRow[]) => r.map((a) => a.id);

describe("sortAgents", () => {
  it("sorts figures both ways with missing values last", () => {
    expect(ids(sortAgents(rows, { key: "avg_sentiment", order: "desc" }))).toEqual([3, 1, 4, 2]);
    expect(ids(sortAgents(rows, { key: "avg_sentiment", order: "asc" }))).toEqual([4, 1, 3, 2]);
  });

  it("breaks ties by id", () => {
    expect(ids(sortAgents(rows, { key: "total_calls", order: "desc" }))).toEqual([2, 1, 3, 4]);
    expect(ids(sortAgents(rows, { key: "total_calls", order: "asc" }))).toEqual([4, 1, 3, 2]);
  });

  it("sorts text case-insensitively, a nameless agent by its external id, empty text last", () => {
    expect(ids(sortAgents(rows, { key: "name", order: "asc" }))).toEqual([2, 1, 3, 4]); // ext-4 after carol
    expect(ids(sortAgents(rows, { key: "team", order: "asc" }))).toEqual([3, 4, 1, 2]);
    expect(ids(sortAgents(rows, { key: "team", order: "desc" }))).toEqual([1, 3, 4, 2]);
  });

  it("does not change its input", () => {
    const copy = rows.slice();
    sortAgents(rows, { key: "name", order: "desc" });
    expect(rows).toEqual(copy);
  });
});

describe("sort in the URL", () => {
  it("defaults to average sentiment, highest first", () => {
    expect(parseAgentSort(new URLSearchParams(""))).toEqual({
      sort: { key: "avg_sentiment", order: "desc" },
      problems: [],
    });
  });

  it("reads every column, text columns defaulting to A..Z", () => {
    expect(parseAgentSort(new URLSearchParams("sort=name")).sort).toEqual({ key: "name", order: "asc" });
    expect(parseAgentSort(new URLSearchParams("sort=escalations&order=asc")).sort).toEqual({
      key: "escalations",
      order: "asc",
    });
  });

  it("reports unknown columns and orders", () => {
    const r = parseAgentSort(new URLSearchParams("sort=salary&order=up"));
    expect(r.problems).toHaveLength(2);
    expect(r.sort).toEqual({ key: "avg_sentiment", order: "desc" });
  });

  it("flips the order on the same column and starts a new one at its default", () => {
    expect(nextSort({ key: "qa_score", order: "desc" }, "qa_score")).toEqual({ key: "qa_score", order: "asc" });
    expect(nextSort({ key: "qa_score", order: "asc" }, "city")).toEqual({ key: "city", order: "asc" });
    expect(nextSort({ key: "city", order: "asc" }, "escalations")).toEqual({ key: "escalations", order: "desc" });
  });
});
