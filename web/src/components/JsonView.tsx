// Any JSON value as headings, lists and definition lists; every string rendered as text.
import type { ReactNode } from "react";

function label(key: string): string {
  const t = key.replace(/[_-]+/g, " ").trim();
  return t ? t[0]!.toUpperCase() + t.slice(1) : key;
}

function scalar(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
  return String(v);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

// depth bounds the nesting shown (a hostile or broken document cannot blow the stack).
export function JsonView({ value, level = 3, depth = 0 }: { value: unknown; level?: number; depth?: number }): ReactNode {
  if (depth > 12) return <span className="muted">…</span>;
  if (Array.isArray(value)) {
    if (value.length === 0) return <span className="muted">none</span>;
    return (
      <ul className="json-list">
        {value.map((v, i) => (
          <li key={i}>
            <JsonView value={v} level={level} depth={depth + 1} />
          </li>
        ))}
      </ul>
    );
  }
  if (isObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return <span className="muted">empty</span>;
    const simple = entries.filter(([, v]) => !isObject(v) && !(Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null)));
    const nested = entries.filter((e) => !simple.includes(e));
    const H = `h${Math.min(6, level)}` as "h3";
    return (
      <div className="json-object">
        {simple.length > 0 && (
          <dl className="json-dl">
            {simple.map(([k, v]) => (
              <div key={k}>
                <dt>{label(k)}</dt>
                <dd>
                  {Array.isArray(v) ? (
                    v.length ? v.map(scalar).join(", ") : <span className="muted">none</span>
                  ) : (
                    scalar(v)
                  )}
                </dd>
              </div>
            ))}
          </dl>
        )}
        {nested.map(([k, v]) => (
          <section key={k} className="json-section">
            <H>{label(k)}</H>
            <JsonView value={v} level={level + 1} depth={depth + 1} />
          </section>
        ))}
      </div>
    );
  }
  return <span>{scalar(value)}</span>;
}
