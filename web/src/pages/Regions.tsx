import { useMemo } from "react";
import type { RegionList } from "../api/analytics";
import { useApi } from "../api/useApi";
import { Chart, type ChartKind, type ChartSeries } from "../components/Chart";
import { Empty, LoadError, Loading, TableWrap, Problems } from "../components/PageState";
import { RangeForm } from "../components/RangeForm";
import { COLORS } from "../components/Stat";
import { formatCount, formatNumber, formatPercent, formatScore } from "../lib/format";
import { barColumns } from "../lib/series";
import { useRange } from "../lib/useRange";
import { CsvDownload } from "./CsvDownload";

const CALLS: ChartSeries[] = [{ label: "Calls", color: COLORS.calls, format: (v) => formatCount(v) }];
const CHART_BARS = 20;

export default function RegionsPage() {
  const { params, setParams, range, problems: rangeProblems, api, apply } = useRange();
  const rawGroup = params.get("group");
  const group = rawGroup === "state" ? "state" : "city";
  const problems =
    rawGroup && rawGroup !== "city" && rawGroup !== "state"
      ? [...rangeProblems, `Group must be city or state (got “${rawGroup}”)`]
      : rangeProblems;
  const path = problems.length
    ? null
    : `/api/v1/analytics/regions?${new URLSearchParams({ ...api, group }).toString()}`;
  const { data, error, loading, reload } = useApi<RegionList>(path);
  const label = group === "state" ? "State" : "City";

  const setGroup = (g: string) => {
    const p = new URLSearchParams(params);
    p.set("group", g);
    setParams(p);
  };

  const bars = useMemo(
    () =>
      data
        ? barColumns(
            data.items,
            (r) => r.region || "(none)",
            (r) => r.calls,
            CHART_BARS,
          )
        : null,
    [data],
  );
  const kind = useMemo<ChartKind>(() => ({ type: "bars", labels: bars?.labels ?? [] }), [bars]);

  return (
    <section aria-labelledby="regions-title">
      <h1 id="regions-title">Regions</h1>
      <RangeForm key={`${range.from}/${range.to}`} range={range} onApply={apply} label="Date range">
        <div className="field">
          <label htmlFor="r-group">Group by</label>
          <select id="r-group" value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="city">City</option>
            <option value="state">State</option>
          </select>
        </div>
      </RangeForm>
      <div className="toolbar">
        <span />
        <CsvDownload
          path={`/api/v1/analytics/regions?${new URLSearchParams({ ...api, group }).toString()}`}
          filename={`regions-${group}`}
          testId="regions-csv"
          disabled={problems.length > 0}
        />
      </div>
      {problems.length > 0 && <Problems intro="The address is not valid, so nothing was loaded:" problems={problems} />}
      {error && <LoadError message={error} onRetry={() => void reload()} />}
      {loading && !data && <Loading what="the regions" />}
      {data && data.items.length === 0 && <Empty>No calls in this range</Empty>}
      {data && data.items.length > 0 && bars && (
        <>
          <Chart
            title={`Calls by ${label.toLowerCase()}`}
            data={bars.data}
            series={CALLS}
            kind={kind}
            height={260}
            note={data.items.length > CHART_BARS ? `The ${CHART_BARS} first of ${data.items.length}; all are in the table.` : undefined}
          />
          <TableWrap label="Regions table">
            <table className="data">
              <caption className="sr-only">Calls by {label.toLowerCase()}</caption>
              <thead>
                <tr>
                  <th scope="col">{label}</th>
                  <th scope="col" className="num">
                    Calls
                  </th>
                  <th scope="col" className="num">
                    Avg sentiment
                  </th>
                  <th scope="col" className="num">
                    Avg talk ratio
                  </th>
                  <th scope="col" className="num">
                    QA score
                  </th>
                  <th scope="col" className="num">
                    Escalated calls
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((r, i) => (
                  <tr key={`${r.region}-${i}`} data-testid="region-row">
                    <td>{r.region || <span className="muted">(none)</span>}</td>
                    <td className="num">{formatCount(r.calls)}</td>
                    <td className="num">{formatNumber(r.avg_sentiment)}</td>
                    <td className="num">{formatPercent(r.avg_talk_ratio)}</td>
                    <td className="num">{formatScore(r.qa_score)}</td>
                    <td className="num">{formatCount(r.escalated_calls)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </>
      )}
    </section>
  );
}
