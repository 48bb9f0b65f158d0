import { useMemo } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { AgentList, AgentRow } from "../api/analytics";
import { useApi } from "../api/useApi";
import { Empty, LoadError, Loading, TableWrap, Problems } from "../components/PageState";
import { nextSort, parseAgentSort, sortAgents, type AgentSort, type AgentSortKey } from "../lib/agentSort";
import { formatCount, formatNumber, formatPercent, formatScore } from "../lib/format";

const COLUMNS: { key: AgentSortKey; label: string; num?: boolean }[] = [
  { key: "name", label: "Agent" },
  { key: "team", label: "Team" },
  { key: "city", label: "City" },
  { key: "total_calls", label: "Calls", num: true },
  { key: "avg_sentiment", label: "Avg sentiment", num: true },
  { key: "avg_talk_ratio", label: "Avg talk ratio", num: true },
  { key: "qa_score", label: "QA score", num: true },
  { key: "escalations", label: "Escalations", num: true },
];

export default function AgentsPage() {
  const [params, setParams] = useSearchParams();
  const { sort, problems } = useMemo(() => parseAgentSort(params), [params]);
  const { data, error, loading, reload } = useApi<AgentList>("/api/v1/analytics/agents");
  const rows = useMemo(() => (data ? sortAgents(data.items, sort) : []), [data, sort]);

  const setSort = (s: AgentSort) => {
    const p = new URLSearchParams(params);
    p.set("sort", s.key);
    p.set("order", s.order);
    setParams(p);
  };

  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">Agents</h1>
      <p className="muted small">
        Totals over all of each agent's analysed calls. Choose a column heading to sort by it.
        {data &&
          ` Talk ratio benchmarks: top reps ${formatPercent(data.benchmarks.agent_talk_ratio.top_reps)}, risk above ${formatPercent(data.benchmarks.agent_talk_ratio.risk_above)}.`}
      </p>
      {problems.length > 0 && <Problems intro="The sort in the address is not valid; the default sort is used:" problems={problems} />}
      {error && <LoadError message={error} onRetry={() => void reload()} />}
      {loading && !data && <Loading what="the agents" />}
      {data && rows.length === 0 && <Empty>No agents yet</Empty>}
      {rows.length > 0 && (
        <TableWrap label="Agents table">
          <table className="data">
            <caption className="sr-only">
              Agents, sorted by {COLUMNS.find((c) => c.key === sort.key)?.label}{" "}
              {sort.order === "asc" ? "ascending" : "descending"}
            </caption>
            <thead>
              <tr>
                {COLUMNS.map((c) => (
                  <th
                    key={c.key}
                    scope="col"
                    className={c.num ? "num" : undefined}
                    aria-sort={sort.key === c.key ? (sort.order === "asc" ? "ascending" : "descending") : undefined}
                  >
                    <button type="button" className="sort" onClick={() => setSort(nextSort(sort, c.key))}>
                      {c.label}
                      <span aria-hidden="true">{sort.key === c.key ? (sort.order === "asc" ? " ▲" : " ▼") : ""}</span>
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((a) => (
                <AgentTr key={a.id} a={a} />
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}

function AgentTr({ a }: { a: AgentRow }) {
  return (
    <tr data-testid="agent-row" data-agent-id={a.id}>
      <td>
        <Link to={`/agents/${a.id}`}>{a.name || a.external_id || `Agent ${a.id}`}</Link>
        {a.name && a.external_id && <span className="muted small"> {a.external_id}</span>}
      </td>
      <td>{a.team || "—"}</td>
      <td>{a.city || "—"}</td>
      <td className="num">{formatCount(a.total_calls)}</td>
      <td className="num">{formatNumber(a.avg_sentiment)}</td>
      <td className="num">
        {formatPercent(a.avg_talk_ratio)}
        {a.talk_ratio_above_risk && <span className="warn"> above risk</span>}
      </td>
      <td className="num">{formatScore(a.qa_score)}</td>
      <td className="num">{formatCount(a.escalations)}</td>
    </tr>
  );
}
