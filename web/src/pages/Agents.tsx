import { useMemo, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import type { AgentList, AgentRow } from "../api/analytics";
import { useApi } from "../api/useApi";
import { Empty, LoadError, Loading, TableWrap, Problems } from "../components/PageState";
import { nextSort, parseAgentSort, sortAgents, type AgentSort, type AgentSortKey } from "../lib/agentSort";
import { formatCount, formatNumber, formatPercent, formatScore } from "../lib/format";
import { CsvDownload } from "./CsvDownload";

// The sorts the API itself knows (the CSV comes sorted by the server; the table is sorted
// in the browser, by any column).
const API_SORTS = ["avg_sentiment", "avg_talk_ratio", "total_calls", "qa_score", "escalations"];
const MAX_TEAM = 128;

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
  const { sort, problems: sortProblems } = useMemo(() => parseAgentSort(params), [params]);
  const team = (params.get("team") ?? "").trim();
  const teamProblem = team.length > MAX_TEAM ? `Team is longer than ${MAX_TEAM} characters` : null;
  const problems = teamProblem ? [...sortProblems, teamProblem] : sortProblems;
  const query = new URLSearchParams();
  if (team) query.set("team", team);
  const path = teamProblem ? null : `/api/v1/analytics/agents${team ? `?${query.toString()}` : ""}`;
  const { data, error, loading, reload } = useApi<AgentList>(path);
  const csvQuery = new URLSearchParams(query);
  if (API_SORTS.includes(sort.key)) {
    csvQuery.set("sort", sort.key);
    csvQuery.set("order", sort.order);
  }
  const rows = useMemo(() => (data ? sortAgents(data.items, sort) : []), [data, sort]);

  const setTeam = (t: string) => {
    const p = new URLSearchParams(params);
    if (t.trim()) p.set("team", t.trim());
    else p.delete("team");
    setParams(p);
  };

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
      <div className="toolbar">
        <TeamForm key={team} team={team} onApply={setTeam} />
        <CsvDownload path={`/api/v1/analytics/agents?${csvQuery.toString()}`} filename="agents" testId="agents-csv" disabled={!!teamProblem} />
      </div>
      {problems.length > 0 && (
        <Problems
          intro={teamProblem ? "The address is not valid, so nothing was loaded:" : "The sort in the address is not valid; the default sort is used:"}
          problems={problems}
        />
      )}
      {error && <LoadError message={error} onRetry={() => void reload()} />}
      {loading && !data && <Loading what="the agents" />}
      {data && rows.length === 0 && <Empty>{team ? `No agents in team “${team}”` : "No agents yet"}</Empty>}
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

// The team filter (the API's `team`: the agents whose team is exactly this).
function TeamForm({ team, onApply }: { team: string; onApply: (t: string) => void }) {
  const [v, setV] = useState(team);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onApply(v);
  };
  return (
    <form className="inline-form" role="search" aria-label="Filter agents" onSubmit={submit}>
      <label htmlFor="agents-team">Team</label>{" "}
      <input id="agents-team" data-testid="agents-team" maxLength={MAX_TEAM} value={v} onChange={(e) => setV(e.target.value)} />{" "}
      <button type="submit" className="secondary" data-testid="agents-team-apply">
        Apply
      </button>
      {team && (
        <>
          {" "}
          <button type="button" className="secondary" onClick={() => onApply("")}>
            All teams
          </button>
        </>
      )}
    </form>
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
