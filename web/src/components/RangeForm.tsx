import { useState, type FormEvent, type ReactNode } from "react";
import { parseRange, type DateRange } from "../lib/daterange";

// From/to dates (local calendar days, inclusive). The range applies on submit.
export function RangeForm({
  range,
  onApply,
  label,
  children,
}: {
  range: DateRange;
  onApply: (r: DateRange) => void;
  label: string;
  children?: ReactNode;
}) {
  const [from, setFrom] = useState(range.from);
  const [to, setTo] = useState(range.to);
  const [problems, setProblems] = useState<string[]>([]);

  function submit(e: FormEvent) {
    e.preventDefault();
    const r = parseRange(new URLSearchParams({ from, to }), new Date());
    setProblems(r.problems);
    if (r.problems.length === 0) onApply(r.range);
  }

  return (
    <form className="filters card range-form" aria-label={label} onSubmit={submit} noValidate>
      <div className="field">
        <label htmlFor="r-from">From</label>
        <input id="r-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} required />
      </div>
      <div className="field">
        <label htmlFor="r-to">To</label>
        <input id="r-to" type="date" value={to} onChange={(e) => setTo(e.target.value)} required />
      </div>
      {children}
      <div className="actions">
        <button type="submit">Show</button>
      </div>
      {problems.length > 0 && (
        <ul role="alert" className="error form-problems">
          {problems.map((p, i) => (
            <li key={i}>{p}</li>
          ))}
        </ul>
      )}
    </form>
  );
}
