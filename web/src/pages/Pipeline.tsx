import { useCallback, useEffect, useRef, useState } from "react";
import { Link } from "react-router-dom";
import type { PipelineStatus } from "../api/analytics";
import { apiJson } from "../api/client";
import { ApiError } from "../api/errors";
import { StatusBadge } from "../components/StatusBadge";
import { Empty, LoadError, Loading, TableWrap } from "../components/PageState";
import { formatCount, formatDateTime } from "../lib/format";
import { providerErrorsView } from "../lib/pipelineErrors";
import { browserPollDeps, startPolling } from "../lib/poll";

export const REFRESH_MS = 10_000;
const PATH = "/api/v1/pipeline/status";

export default function PipelinePage() {
  const [data, setData] = useState<PipelineStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const ctl = useRef<AbortController | null>(null);

  // The last answer stays on screen while a refresh runs or after one fails.
  const load = useCallback(async () => {
    const ac = new AbortController();
    ctl.current = ac;
    try {
      const p = await apiJson<PipelineStatus>(PATH, { signal: ac.signal });
      if (ac.signal.aborted) return;
      setData(p);
      setError(null);
      setUpdatedAt(new Date());
    } catch (e) {
      if (ac.signal.aborted) return;
      setError(e instanceof ApiError ? e.message : "Loading failed.");
    }
  }, []);

  // At once, then every 10 s while the page is visible.
  useEffect(() => {
    const stop = startPolling(load, REFRESH_MS, browserPollDeps());
    return () => {
      stop();
      ctl.current?.abort();
    };
  }, [load]);

  return (
    <section aria-labelledby="pipeline-title">
      <div className="page-head">
        <h1 id="pipeline-title">Pipeline</h1>
        <span className="muted small">
          {updatedAt ? `Updated ${updatedAt.toLocaleTimeString()}; ` : ""}refreshes every {REFRESH_MS / 1000} s while
          this page is shown
        </span>
      </div>
      {error && <LoadError message={error} onRetry={() => void load()} />}
      {!data && !error && <Loading what="the pipeline status" />}
      {data && <PipelineBody p={data} />}
    </section>
  );
}

export function PipelineBody({ p }: { p: PipelineStatus }) {
  const statuses = Object.entries(p.calls_by_status);
  const providerErrors = providerErrorsView(p);
  return (
    <>
      <h2>Calls by status</h2>
      <ul className="cards" aria-label="Calls by status">
        {statuses.map(([s, n]) => (
          <li key={s} className="stat card">
            <span className="stat-label">
              <StatusBadge status={s} />
            </span>
            <strong className="stat-value">{formatCount(n)}</strong>
          </li>
        ))}
      </ul>

      <h2>Queues</h2>
      <TableWrap label="Queues table">
        <table className="data">
          <caption className="sr-only">Work and dead-letter queue depth per stage</caption>
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col" className="num">
                Waiting
              </th>
              <th scope="col" className="num">
                Dead letters
              </th>
              <th scope="col">Queues</th>
            </tr>
          </thead>
          <tbody>
            {p.queues.map((q) => (
              <tr key={q.stage} data-testid="queue-row">
                <th scope="row">{q.stage}</th>
                <td className="num">{q.depth === null ? <span className="error">unknown</span> : formatCount(q.depth)}</td>
                <td className="num">
                  {q.dead_letters === null ? (
                    <span className="error">unknown</span>
                  ) : (
                    <span className={q.dead_letters > 0 ? "warn" : undefined}>{formatCount(q.dead_letters)}</span>
                  )}
                </td>
                <td className="muted small">
                  {q.queue}, {q.dead_letter_queue}
                  {q.error && <span className="error"> (the broker could not be asked: {q.error})</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>

      <h2>Provider errors</h2>
      {providerErrors.state === "error" && (
        <p className="error" data-testid="provider-errors-error">
          {providerErrors.message}
        </p>
      )}
      {providerErrors.state === "empty" && <Empty>No provider errors in the last 24 hours</Empty>}
      {providerErrors.rows.length > 0 && (
        <TableWrap label="Provider errors table">
          <table className="data">
            <caption className="sr-only">
              Failed requests to speech, LLM, embedding and CRM providers per provider and status
            </caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Provider</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Last hour
                </th>
                <th scope="col" className="num">
                  Last 24 h
                </th>
                <th scope="col">Last seen</th>
                <th scope="col">Last message</th>
              </tr>
            </thead>
            <tbody>
              {providerErrors.rows.map((r) => (
                <tr key={r.key} data-testid="provider-error-row">
                  <td>{r.kind}</td>
                  <td>{r.provider}</td>
                  <td>{r.status}</td>
                  <td className="num">
                    <span className={r.lastHour > 0 ? "warn" : undefined}>{formatCount(r.lastHour)}</span>
                  </td>
                  <td className="num">{formatCount(r.lastDay)}</td>
                  <td>{formatDateTime(r.lastAt)}</td>
                  <td className="wrap">{r.lastMessage}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}

      <h2>Sync sources</h2>
      {p.watermarks.length === 0 ? (
        <Empty>No sync source has run yet</Empty>
      ) : (
        <TableWrap label="Sync sources table">
          <table className="data">
            <caption className="sr-only">Sync watermarks</caption>
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">Position</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {p.watermarks.map((w) => (
                <tr key={w.source}>
                  <td>{w.source}</td>
                  <td className="wrap">{w.position}</td>
                  <td>{formatDateTime(w.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}

      <h2>Recent failures</h2>
      {p.recent_failures.length === 0 ? (
        <Empty>No failed calls</Empty>
      ) : (
        <TableWrap label="Recent failures table">
          <table className="data">
            <caption className="sr-only">The most recent failed calls with stage and reason</caption>
            <thead>
              <tr>
                <th scope="col">Call</th>
                <th scope="col">Stage</th>
                <th scope="col">Reason</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Failed</th>
              </tr>
            </thead>
            <tbody>
              {p.recent_failures.map((f) => (
                <tr key={f.id} data-testid="failure-row">
                  <td>
                    <Link to={`/calls/${f.id}`}>{f.external_id || `Call ${f.id}`}</Link>
                  </td>
                  <td>{f.stage}</td>
                  <td className="wrap">{f.reason}</td>
                  <td className="num">{formatCount(f.attempts)}</td>
                  <td>{formatDateTime(f.failed_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </>
  );
}
