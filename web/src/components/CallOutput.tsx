// Analysis outputs drawn from their JSON: the builtin summary as a card, any other agent's
// output through the document tree of lib/callOutput (text only, never HTML from the data),
// with its raw JSON under a toggle.
import type { ReactNode } from "react";
import type { Analysis } from "../api/types";
import { agentTitle, humanize, type PiiOutput, type SummaryOutput } from "../lib/callAnalyses";
import { outputTree, type OutNode } from "../lib/callOutput";
import { formatDateTime } from "../lib/format";

export function OutTree({ node }: { node: OutNode }): ReactNode {
  switch (node.t) {
    case "text":
      return node.muted ? <span className="muted">{node.text}</span> : <span className="out-text">{node.text}</span>;
    case "bool":
      return <span className={`badge answer-${node.value ? "yes" : "no"}`}>{node.value ? "Yes" : "No"}</span>;
    case "list":
      return (
        <ul className="out-list">
          {node.items.map((n, i) => (
            <li key={i}>
              <OutTree node={n} />
            </li>
          ))}
        </ul>
      );
    case "dl":
      return (
        <dl className="out-dl">
          {node.entries.map((e) => (
            <div key={e.key}>
              <dt>{e.label}</dt>
              <dd>
                <OutTree node={e.value} />
              </dd>
            </div>
          ))}
        </dl>
      );
    case "table":
      return (
        <div className="table-wrap" role="region" aria-label={`Table of ${node.columns.map((c) => c.label).join(", ")}`} tabIndex={0}>
          <table className="out-table">
            <thead>
              <tr>
                {node.columns.map((c) => (
                  <th key={c.key} scope="col">
                    {c.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {node.rows.map((r, i) => (
                <tr key={i}>
                  {r.map((c, j) => (
                    <td key={j}>
                      <OutTree node={c} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
  }
}

export function CallSummary({ summary }: { summary: SummaryOutput | null }) {
  if (!summary) return <p className="muted">No summary yet.</p>;
  const rows: [string, string][] = [
    ["Summary", summary.summary],
    ["Issue", summary.issue],
    ["Resolution", summary.resolution],
  ];
  return (
    <div className="card call-summary" data-testid="call-summary">
      <dl className="out-dl">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="out-text">{v || <span className="muted">—</span>}</dd>
          </div>
        ))}
        <div>
          <dt>Outcome</dt>
          <dd>
            <span className="badge" data-testid="call-outcome">
              {summary.outcome ? humanize(summary.outcome) : "—"}
            </span>
            {summary.outcomeEvidence && <q className="muted small out-text"> {summary.outcomeEvidence}</q>}
          </dd>
        </div>
      </dl>
    </div>
  );
}

export function PiiNote({ pii }: { pii: PiiOutput | null }) {
  if (!pii) return null;
  const parts = Object.entries(pii.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${humanize(k).toLowerCase()} ${n}`);
  return (
    <p className="muted small" data-testid="pii-note">
      Personal data redacted before the LLM agents saw the transcript: {parts.length ? parts.join(", ") : "none found"}
      {pii.redactedSegments > 0 ? ` (${pii.redactedSegments} lines)` : ""}.
    </p>
  );
}

export function AgentOutput({ a }: { a: Analysis }) {
  return (
    <section className="card analysis" data-testid="agent-output">
      <h3>
        {agentTitle(a)}
        <span className="muted small">
          {" "}
          v{a.agent_version}
          {a.model ? ` · ${a.model}` : ""} · {formatDateTime(a.created_at)}
        </span>
      </h3>
      <OutTree node={outputTree(a.output)} />
      <details>
        <summary>Raw JSON</summary>
        <pre className="pre raw-json">{JSON.stringify(a.output, null, 2)}</pre>
      </details>
    </section>
  );
}
