// The call's conversation figures as a labelled grid, with the raw metrics under a toggle.
import { useMemo } from "react";
import { metricFigures } from "../lib/callMetrics";
import { JsonView } from "./JsonView";

export function CallFigures({ metrics }: { metrics: Record<string, unknown> | null }) {
  const figs = useMemo(() => metricFigures(metrics), [metrics]);
  return (
    <>
      {!metrics && <p className="muted">No metrics yet.</p>}
      <ul className="cards call-figures" aria-label="Conversation figures" data-testid="call-figures">
        {figs.map((f) => (
          <li key={f.id} className={`stat card${f.tone ? ` tone-${f.tone}` : ""}`} data-figure={f.id}>
            <span className="stat-label">{f.label}</span>
            <strong className="stat-value">{f.value}</strong>
            {f.hint && <span className="muted small">{f.hint}</span>}
          </li>
        ))}
      </ul>
      {metrics && (
        <details>
          <summary>Raw metrics</summary>
          <JsonView value={metrics} level={4} />
        </details>
      )}
    </>
  );
}
