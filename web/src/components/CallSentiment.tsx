// The sentiment curve per speaker: a text summary (call score and quarters per speaker),
// buttons to jump to each quarter, and the uPlot chart, loaded on demand with uPlot's chunk.
import { lazy, Suspense, useMemo } from "react";
import type { SentimentOutput } from "../lib/callAnalyses";
import { sentimentSeries, sentimentSummary } from "../lib/callSentiment";
import { mmss, type Segment } from "../lib/transcript";

const SentimentChart = lazy(() => import("./CallSentimentChart"));

export function CallSentiment({
  sentiment,
  segs,
  durationMs,
  onSeek,
}: {
  sentiment: SentimentOutput | null;
  segs: Segment[];
  durationMs: number;
  onSeek: (ms: number) => void;
}) {
  const series = useMemo(() => (sentiment ? sentimentSeries(segs, sentiment, durationMs) : null), [sentiment, segs, durationMs]);
  if (!sentiment || !series) return <p className="muted">No sentiment analysis yet.</p>;
  const lines = sentimentSummary(sentiment);
  return (
    <div className="call-sentiment" data-testid="call-sentiment">
      <ul className="call-sentiment-summary" data-testid="sentiment-summary">
        {lines.map((l) => (
          <li key={l}>{l}</li>
        ))}
      </ul>
      {series.points > 0 ? (
        <Suspense fallback={<p role="status">Loading chart…</p>}>
          <SentimentChart series={series} onSeek={onSeek} />
        </Suspense>
      ) : (
        <p className="muted">No transcript line was scored.</p>
      )}
      {series.durationMs > 0 && (
        <p className="call-quarters" role="group" aria-label="Jump to a quarter of the call">
          {[0, 1, 2, 3].map((q) => {
            const ms = Math.floor((series.durationMs * q) / 4);
            return (
              <button key={q} type="button" className="secondary" onClick={() => onSeek(ms)}>
                Q{q + 1} · {mmss(ms)}
              </button>
            );
          })}
        </p>
      )}
    </div>
  );
}
