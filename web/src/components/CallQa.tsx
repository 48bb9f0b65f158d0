// The QA result: the call's score, then per scorecard its score and each answer.
import { answerTone, formatQaScore, type QaOutput } from "../lib/callAnalyses";
import { formatValue } from "../lib/callOutput";

export function CallQa({ qa, fallbackScore }: { qa: QaOutput | null; fallbackScore: number | null }) {
  const score = qa?.score ?? fallbackScore;
  return (
    <div className="call-qa" data-testid="call-qa">
      <p>
        QA score: <strong data-testid="qa-score">{formatQaScore(score)}</strong>
        {qa && qa.scorecards.length > 1 && <span className="muted small"> (the first scorecard that scored the call)</span>}
      </p>
      {!qa ? (
        <p className="muted">No QA analysis yet.</p>
      ) : qa.scorecards.length === 0 ? (
        <p className="muted">No scorecard is enabled for this business.</p>
      ) : (
        qa.scorecards.map((c, i) => (
          <section key={`${c.id ?? ""}-${i}`} className="card scorecard" data-testid="scorecard">
            <h3>
              {c.name} <span className="muted small">{formatQaScore(c.score)}</span>
            </h3>
            {c.answers.length === 0 ? (
              <p className="muted">No questions answered.</p>
            ) : (
              <div className="table-wrap" role="region" aria-label={`${c.name} answers`} tabIndex={0}>
                <table className="qa-table">
                  <thead>
                    <tr>
                      <th scope="col">Question</th>
                      <th scope="col">Answer</th>
                      <th scope="col">Weight</th>
                    </tr>
                  </thead>
                  <tbody>
                    {c.answers.map((a, j) => (
                      <tr key={`${a.id}-${j}`} data-testid="qa-answer">
                        <th scope="row">
                          {a.text ?? a.id}
                          {a.text && <span className="muted small"> ({a.id})</span>}
                        </th>
                        <td>
                          <span className={`badge answer-${answerTone(a.answer)}`}>{a.answer || "—"}</span>
                        </td>
                        <td>{a.weight === null ? "—" : formatValue(a.weight)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        ))
      )}
    </div>
  );
}
