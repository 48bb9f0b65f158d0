import type { ReactNode } from "react";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-busy="true">
      Loading {what}…
    </p>
  );
}

export function LoadError({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <div role="alert" className="error banner">
      {message}{" "}
      <button type="button" className="secondary" onClick={onRetry}>
        Retry
      </button>
    </div>
  );
}

export function Problems({ intro, problems }: { intro: string; problems: string[] }) {
  return (
    <div role="alert" className="error banner">
      <p>{intro}</p>
      <ul>
        {problems.map((p, i) => (
          <li key={i}>{p}</li>
        ))}
      </ul>
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

// A table that may scroll sideways on a narrow screen: focusable, so the keyboard can
// scroll it, and named for screen readers.
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}
