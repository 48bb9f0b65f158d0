import { useMemo } from "react";
import type { Overview } from "../api/analytics";
import { useApi } from "../api/useApi";
import { Chart, type ChartKind, type ChartSeries } from "../components/Chart";
import { Empty, LoadError, Loading, Problems } from "../components/PageState";
import { RangeForm } from "../components/RangeForm";
import { Card, COLORS } from "../components/Stat";
import { formatCount, formatNumber, formatPercent, formatScore } from "../lib/format";
import { browserUtcOffset, HOUR_LABELS, offsetDays, offsetLabel, overviewDaily } from "../lib/overviewSeries";
import { barColumns, hourColumns } from "../lib/series";
import { useRange } from "../lib/useRange";

const CALLS: ChartSeries[] = [{ label: "Calls", color: COLORS.calls, format: (v) => formatCount(v) }];
const DAYS: ChartKind = { type: "days" };
const SENTIMENT: ChartSeries[] = [
  { label: "Avg customer sentiment", color: COLORS.sentiment, format: (v) => formatNumber(v), range: [-1, 1] },
];
const QA: ChartSeries[] = [{ label: "Avg QA score", color: COLORS.qa, format: (v) => formatScore(v), range: [0, 100] }];
const TALK: ChartSeries[] = [
  { label: "Avg agent talk ratio", color: COLORS.talk, format: (v) => formatPercent(v), range: [0, 1] },
];
const HOURS: ChartKind = { type: "bars", labels: HOUR_LABELS };
const SENTIMENT_LABELS = ["Negative", "Neutral", "Positive", "Unscored"];
const SENTIMENT_KIND: ChartKind = { type: "bars", labels: SENTIMENT_LABELS };

export default function OverviewPage() {
  const { range, problems, api, apply } = useRange();
  // Days and hours grouped in the browser's time zone (its offset today).
  const offset = useMemo(() => browserUtcOffset(new Date()), []);
  const path = problems.length
    ? null
    : `/api/v1/analytics/overview?${new URLSearchParams({ ...api, utc_offset_minutes: String(offset) }).toString()}`;
  const { data, error, loading, reload } = useApi<Overview>(path);

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <RangeForm key={`${range.from}/${range.to}`} range={range} onApply={apply} label="Date range" />
      {problems.length > 0 && <Problems intro="The dates in the address are not valid, so nothing was loaded:" problems={problems} />}
      {error && <LoadError message={error} onRetry={() => void reload()} />}
      {loading && !data && <Loading what="the overview" />}
      {data && <OverviewBody o={data} utcOffsetMinutes={offset} />}
    </section>
  );
}

// utcOffsetMinutes: the offset the days and hours were grouped in (the one requested).
export function OverviewBody({ o, utcOffsetMinutes = 0 }: { o: Overview; utcOffsetMinutes?: number }) {
  const days = useMemo(() => offsetDays(o.from, o.to, utcOffsetMinutes), [o.from, o.to, utcOffsetMinutes]);
  const daily = useMemo(() => overviewDaily(days, o.volume_by_day), [days, o.volume_by_day]);
  const zone = offsetLabel(utcOffsetMinutes);
  const dayNote = utcOffsetMinutes === 0 ? "Days are UTC days." : `Days in your time zone (${zone}).`;
  const perHour = useMemo(() => hourColumns(o.volume_by_hour), [o.volume_by_hour]);
  const sentiment = useMemo(() => {
    const s = o.sentiment_distribution;
    return [[0, 1, 2, 3], [s.negative, s.neutral, s.positive, s.unscored]] as [number[], number[]];
  }, [o.sentiment_distribution]);
  const cats = useMemo(() => {
    const b = barColumns(
      o.categories,
      (r) => r.category,
      (r) => r.calls,
      10,
    );
    return { data: b.data, kind: { type: "bars", labels: b.labels } as ChartKind };
  }, [o.categories]);
  const issues = useMemo(
    () => barColumns(o.issue_categories, (r) => r.issue_category, (r) => r.calls, 10),
    [o.issue_categories],
  );
  const issueKind = useMemo<ChartKind>(() => ({ type: "bars", labels: issues.labels }), [issues.labels]);
  const bench = o.benchmarks.agent_talk_ratio;

  return (
    <>
      <p className="muted small">
        Calls started from {new Date(o.from).toLocaleString()} to {new Date(o.to).toLocaleString()} (your time zone).
      </p>
      <ul className="cards" aria-label="Figures">
        <Card label="Calls" value={formatCount(o.calls)} />
        <Card
          label="Average customer sentiment"
          value={formatNumber(o.averages.customer_sentiment)}
          hint="-1 (negative) to 1 (positive)"
        />
        <Card label="Average QA score" value={formatScore(o.averages.qa_score)} hint="0 to 100" />
        <Card
          label="Average agent talk ratio"
          value={formatPercent(o.averages.agent_talk_ratio)}
          hint={`top reps ${formatPercent(bench.top_reps)}, risk above ${formatPercent(bench.risk_above)}`}
        />
        <Card
          label="Escalations"
          value={formatCount(o.escalated_calls)}
          hint={o.escalation_rate === null ? "no calls" : `${formatPercent(o.escalation_rate, 1)} of calls`}
        />
      </ul>
      {o.calls === 0 ? (
        <Empty>No calls in this range</Empty>
      ) : (
        <div className="chart-grid">
          <Chart title="Calls per day" data={daily.calls} series={CALLS} kind={DAYS} note={dayNote} />
          {daily.sentiment && (
            <Chart title="Customer sentiment per day" data={daily.sentiment} series={SENTIMENT} kind={DAYS} note="Gaps: no scored calls that day." />
          )}
          {daily.qa && <Chart title="QA score per day" data={daily.qa} series={QA} kind={DAYS} note="Gaps: no scored calls that day." />}
          {daily.talk && <Chart title="Agent talk ratio per day" data={daily.talk} series={TALK} kind={DAYS} note="Gaps: no measured calls that day." />}
          <Chart title={`Calls by hour of day (${utcOffsetMinutes === 0 ? "UTC" : `your time, ${zone}`})`} data={perHour} series={CALLS} kind={HOURS} />
          <Chart title="Customer sentiment of the calls" data={sentiment} series={CALLS} kind={SENTIMENT_KIND} note="Negative below -0.05, positive above 0.05." />
          {cats.data[0].length > 0 ? (
            <Chart title="Top categories" data={cats.data} series={CALLS} kind={cats.kind} />
          ) : (
            <Empty>No category matches in this range</Empty>
          )}
          {issues.labels.length > 0 && (
            <Chart title="Top issue categories" data={issues.data} series={CALLS} kind={issueKind} />
          )}
        </div>
      )}
    </>
  );
}
