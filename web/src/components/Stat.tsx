// Series colours of the charts (each has at least 4.5:1 contrast on white).
export const COLORS = { calls: "#0b5cad", sentiment: "#1a7f37", qa: "#8250df", talk: "#bc4c00" };

// One figure of a page's cards.
export function Card({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <li className="stat card">
      <span className="stat-label">{label}</span>
      <strong className="stat-value">{value}</strong>
      {hint && <span className="muted small">{hint}</span>}
    </li>
  );
}
