// The call's matched categories as chips; the chosen one's spans are listed (click to play
// from there) and the transcript lines overlapping them are highlighted by the page.
import { Link } from "react-router-dom";
import type { CategoryMatch } from "../lib/callAnalyses";
import { mmss } from "../lib/transcript";

export function CallCategories({
  matches,
  selected,
  hits,
  onSelect,
  onSeek,
}: {
  matches: CategoryMatch[] | null;
  selected: number; // index into matches, -1: none
  hits: number; // transcript lines highlighted
  onSelect: (i: number) => void;
  onSeek: (ms: number) => void;
}) {
  if (!matches) return <p className="muted">No category analysis yet.</p>;
  if (matches.length === 0) return <p className="muted">No category matched this call.</p>;
  const chosen = selected >= 0 ? matches[selected] : undefined;
  return (
    <div className="call-categories">
      <ul className="chips" aria-label="Matched categories">
        {matches.map((m, i) => (
          <li key={`${m.id ?? ""}-${i}`}>
            <button
              type="button"
              className="chip"
              data-testid="category-chip"
              aria-pressed={i === selected}
              onClick={() => onSelect(i === selected ? -1 : i)}
            >
              {m.name}
              <span className="muted small"> · {m.spans.length}</span>
            </button>
          </li>
        ))}
      </ul>
      {chosen && (
        <div className="category-spans" data-testid="category-spans">
          <p className="small" aria-live="polite">
            {chosen.name}: {chosen.spans.length} {chosen.spans.length === 1 ? "span" : "spans"}, {hits} transcript{" "}
            {hits === 1 ? "line" : "lines"} highlighted.
            {chosen.id !== null && (
              <>
                {" "}
                <Link to={`/calls?category_id=${chosen.id}`} data-testid="category-calls-link">
                  Calls with this category
                </Link>
              </>
            )}
          </p>
          {chosen.spans.length > 0 && (
            <ul className="span-list">
              {chosen.spans.map((s, i) => (
                <li key={i}>
                  <button type="button" className="link" onClick={() => onSeek(s.start_ms)} aria-label={`${mmss(s.start_ms)}–${mmss(s.end_ms)}: play this ${chosen.name} span`}>
                    {mmss(s.start_ms)}–{mmss(s.end_ms)}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
