// Similar calls and coaching nudges, each fetched once the call has loaded, with loading,
// empty, "not available" (503 or 404: no retriever or no embeddings for the call) and error
// states.
import { useEffect, useState } from "react";
import { Link } from "react-router-dom";
import { apiJson } from "../api/client";
import { ApiError } from "../api/errors";
import { formatQaScore, humanize } from "../lib/callAnalyses";
import { nudgeText, parseRecommendations, parseSimilar, unavailable, type Recommendations, type Similar, type SimilarCall } from "../lib/callRelated";
import { formatDateTime, formatDuration } from "../lib/format";

type Load<T> = { state: "loading" } | { state: "na" } | { state: "error"; message: string } | { state: "ok"; data: T };

function useLoad<T>(path: string, parse: (v: unknown) => T): [Load<T>, () => void] {
  const [s, setS] = useState<Load<T>>({ state: "loading" });
  const [n, setN] = useState(0);
  useEffect(() => {
    const ac = new AbortController();
    setS({ state: "loading" });
    apiJson<unknown>(path, { signal: ac.signal })
      .then((v) => setS({ state: "ok", data: parse(v) }))
      .catch((e: unknown) => {
        if (ac.signal.aborted) return;
        if (e instanceof ApiError && unavailable(e.status)) setS({ state: "na" });
        else setS({ state: "error", message: e instanceof ApiError ? e.message : "Loading failed." });
      });
    return () => ac.abort();
  }, [path, n]);
  return [s, () => setN((x) => x + 1)];
}

function States<T>({ s, retry, what, children }: { s: Load<T>; retry: () => void; what: string; children: (d: T) => JSX.Element }) {
  if (s.state === "loading") return <p role="status">Loading {what}…</p>;
  if (s.state === "na") return <p className="muted">Not available for this call.</p>;
  if (s.state === "error")
    return (
      <p role="alert" className="error">
        {s.message}{" "}
        <button type="button" className="secondary" onClick={retry}>
          Retry
        </button>
      </p>
    );
  return children(s.data);
}

function CallLink({ c }: { c: SimilarCall }) {
  return (
    <>
      <Link to={`/calls/${c.call_id}`}>Call {c.call_id}</Link>
      <span className="muted small">
        {" "}
        {[
          c.score !== null ? `similarity ${c.score.toFixed(2)}` : "",
          formatDateTime(c.started_at),
          c.issue_category,
          c.agent,
          c.duration_ms !== null ? formatDuration(c.duration_ms) : "",
          c.qa_score !== null ? `QA ${formatQaScore(c.qa_score)}` : "",
          c.outcome && c.outcome !== "unknown" ? humanize(c.outcome) : "",
        ]
          .filter(Boolean)
          .join(" · ")}
      </span>
    </>
  );
}

export function SimilarCalls({ callId }: { callId: number }) {
  const [s, retry] = useLoad<Similar>(`/api/v1/calls/${callId}/similar?k=5`, parseSimilar);
  return (
    <States s={s} retry={retry} what="similar calls">
      {(d) =>
        !d.indexed ? (
          <p className="muted">Not available for this call (not indexed yet).</p>
        ) : d.items.length === 0 ? (
          <p className="muted">No similar calls found.</p>
        ) : (
          <ul className="related-list">
            {d.items.map((c) => (
              <li key={c.call_id} data-testid="similar-call">
                <CallLink c={c} />
              </li>
            ))}
          </ul>
        )
      }
    </States>
  );
}

export function CoachingNudges({ callId }: { callId: number }) {
  const [s, retry] = useLoad<Recommendations>(`/api/v1/calls/${callId}/recommendations`, parseRecommendations);
  return (
    <States s={s} retry={retry} what="coaching nudges">
      {(d) =>
        !d.indexed ? (
          <p className="muted">Not available for this call (not indexed yet).</p>
        ) : d.nudges.length === 0 && d.examples.length === 0 ? (
          <p className="muted">No similar call was handled better; nothing to suggest.</p>
        ) : (
          <>
            {d.nudges.length > 0 && (
              <ul className="nudges">
                {d.nudges.map((n, i) => {
                  const t = nudgeText(n);
                  return (
                    <li key={i} className="card nudge" data-testid="nudge">
                      <strong>{t.title}</strong>
                      <div className="muted small">
                        {t.compare}
                        {n.example_call_id !== null && (
                          <>
                            {" · "}
                            <Link to={`/calls/${n.example_call_id}`}>open call {n.example_call_id}</Link>
                          </>
                        )}
                      </div>
                      {n.advice && <p className="out-text">{n.advice}</p>}
                    </li>
                  );
                })}
              </ul>
            )}
            {d.examples.length > 0 && (
              <>
                <h3>Handled better in</h3>
                <ul className="related-list">
                  {d.examples.map((c) => (
                    <li key={c.call_id}>
                      <CallLink c={c} />
                    </li>
                  ))}
                </ul>
              </>
            )}
          </>
        )
      }
    </States>
  );
}
