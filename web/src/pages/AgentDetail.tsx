import { useMemo } from "react";
import { Link, useParams } from "react-router-dom";
import type { AgentDetail } from "../api/analytics";
import { useApi } from "../api/useApi";
import { Chart, type ChartKind, type ChartSeries } from "../components/Chart";
import { Empty, LoadError, Loading, TableWrap, Problems } from "../components/PageState";
import { RangeForm } from "../components/RangeForm";
import { browserUtcOffset, offsetDays, offsetLabel } from "../lib/overviewSeries";
import { formatCount, formatDateTime, formatNumber, formatPercent, formatScore } from "../lib/format";
import { dailyColumns, trendPoints } from "../lib/series";
import { useRange } from "../lib/useRange";
import { Card, COLORS } from "../components/Stat";

const DAYS: ChartKind = { type: "days" };
const CALLS: ChartSeries[] = [{ label: "Calls", color: COLORS.calls, format: (v) => formatCount(v) }];
const SENTIMENT: ChartSeries[] = [
  { label: "Avg customer sentiment", color: COLORS.sentiment, format: (v) => formatNumber(v), range: [-1, 1] },
];
const QA: ChartSeries[] = [{ label: "Avg QA score", color: COLORS.qa, format: (v) => formatScore(v), range: [0, 100] }];
const TALK: ChartSeries[] = [
  { label: "Avg agent talk ratio", color: COLORS.talk, format: (v) => formatPercent(v), range: [0, 1] },
];

export default function AgentDetailPage() {
  const { id = "" } = useParams();
  const valid = /^[1-9]\d{0,17}$/.test(id);
  const { range, problems, api, apply } = useRange();
  // Days grouped in the browser's time zone (its offset today).
  const offset = useMemo(() => browserUtcOffset(new Date()), []);
  const path =
    valid && problems.length === 0
      ? `/api/v1/analytics/agents/${id}?${new URLSearchParams({ ...api, utc_offset_minutes: String(offset) }).toString()}`
      : null;
  const { data, error, status, loading, reload } = useApi<AgentDetail>(path);

  if (!valid || status === 404) {
    return (
      <section aria-labelledby="agent-title">
        <h1 id="agent-title">Agent not found</h1>
        <p>
          <Link to="/agents">Back to the agents</Link>
        </p>
      </section>
    );
  }
  return (
    <section aria-labelledby="agent-title">
      <p className="small">
        <Link to="/agents">← Agents</Link>
      </p>
      <h1 id="agent-title">{data ? data.name || data.external_id || `Agent ${data.id}` : `Agent ${id}`}</h1>
      <RangeForm key={`${range.from}/${range.to}`} range={range} onApply={apply} label="Date range of the daily charts" />
      {problems.length > 0 && <Problems intro="The dates in the address are not valid, so nothing was loaded:" problems={problems} />}
      {error && <LoadError message={error} onRetry={() => void reload()} />}
      {loading && !data && <Loading what="the agent" />}
      {data && <AgentBody a={data} from={api.from} to={api.to} utcOffsetMinutes={offset} />}
    </section>
  );
}

export function AgentBody({ a, from, to, utcOffsetMinutes = 0 }: { a: AgentDetail; from: string; to: string; utcOffsetMinutes?: number }) {
  const days = useMemo(() => offsetDays(from, to, utcOffsetMinutes), [from, to, utcOffsetMinutes]);
  const dayNote = utcOffsetMinutes === 0 ? "Days are UTC days." : `Days in your time zone (${offsetLabel(utcOffsetMinutes)}).`;
  const cols = useMemo(
    () =>
      dailyColumns(days, a.daily, [
        { get: (r) => r.calls, missing: 0 },
        { get: (r) => r.avg_sentiment, missing: null },
        { get: (r) => r.qa_score, missing: null },
        { get: (r) => r.avg_talk_ratio, missing: null },
      ]),
    [days, a.daily],
  );
  const calls = useMemo(() => [cols[0], cols[1]!] as [number[], (number | null)[]], [cols]);
  const sentiment = useMemo(() => [cols[0], cols[2]!] as [number[], (number | null)[]], [cols]);
  const qa = useMemo(() => [cols[0], cols[3]!] as [number[], (number | null)[]], [cols]);
  const talk = useMemo(() => [cols[0], cols[4]!] as [number[], (number | null)[]], [cols]);
  const trend = useMemo(() => trendPoints(a.trend).reverse(), [a.trend]);
  const bench = a.benchmarks.agent_talk_ratio;

  return (
    <>
      <dl className="fields">
        <div>
          <dt>External id</dt>
          <dd>{a.external_id || "—"}</dd>
        </div>
        <div>
          <dt>Team</dt>
          <dd>{a.team || "—"}</dd>
        </div>
        <div>
          <dt>City</dt>
          <dd>{a.city || "—"}</dd>
        </div>
      </dl>
      <h2>All analysed calls</h2>
      <ul className="cards" aria-label="Figures">
        <Card label="Calls" value={formatCount(a.total_calls)} />
        <Card label="Average customer sentiment" value={formatNumber(a.avg_sentiment)} hint="-1 to 1" />
        <Card label="Average QA score" value={formatScore(a.qa_score)} hint="0 to 100" />
        <Card
          label="Average talk ratio"
          value={formatPercent(a.avg_talk_ratio)}
          hint={
            a.talk_ratio_above_risk
              ? `above the ${formatPercent(bench.risk_above)} risk level`
              : `top reps ${formatPercent(bench.top_reps)}, risk above ${formatPercent(bench.risk_above)}`
          }
        />
        <Card label="Escalations" value={formatCount(a.escalations)} />
      </ul>
      <h2>Per day</h2>
      {a.daily.length === 0 ? (
        <Empty>No calls of this agent in this range</Empty>
      ) : (
        <div className="chart-grid">
          <Chart title="Calls per day" data={calls} series={CALLS} kind={DAYS} note={dayNote} />
          <Chart title="Customer sentiment per day" data={sentiment} series={SENTIMENT} kind={DAYS} note="Gaps: no scored calls that day." />
          <Chart title="QA score per day" data={qa} series={QA} kind={DAYS} />
          <Chart title="Agent talk ratio per day" data={talk} series={TALK} kind={DAYS} />
        </div>
      )}
      <h2>Recent calls</h2>
      {trend.length === 0 ? (
        <Empty>No analysed calls yet</Empty>
      ) : (
        <TableWrap label="Recent calls table">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Call</th>
                <th scope="col">Analysed</th>
                <th scope="col" className="num">
                  Sentiment
                </th>
                <th scope="col" className="num">
                  QA score
                </th>
                <th scope="col" className="num">
                  Talk ratio
                </th>
              </tr>
            </thead>
            <tbody>
              {trend.map((t) => (
                <tr key={`${t.callId}-${t.at}`}>
                  <td>
                    <Link to={`/calls/${t.callId}`}>Call {t.callId}</Link>
                  </td>
                  <td>{formatDateTime(new Date(t.at).toISOString())}</td>
                  <td className="num">{formatNumber(t.sentiment)}</td>
                  <td className="num">{formatScore(t.qaScore)}</td>
                  <td className="num">{formatPercent(t.talkRatio)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
