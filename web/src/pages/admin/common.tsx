// Shared pieces of the admin pages: the business acted on, a mutation runner that keeps
// the server's message, and a confirmation step for destructive actions.
import { useCallback, useState, type ReactNode } from "react";
import { apiJson, type ApiInit } from "../../api/client";
import { ApiError } from "../../api/errors";
import { useAuth } from "../../auth";

export function useBid(): string | null {
  return useAuth().actingBid;
}

export type Outcome<T> = { ok: true; data: T } | { ok: false };

export interface Mutation {
  busy: boolean;
  error: string | null;
  run: <T>(path: string, init: ApiInit) => Promise<Outcome<T>>;
  setError: (e: string | null) => void;
}

// One request at a time; a refusal keeps the server's message verbatim for role="alert".
export function useMutation(): Mutation {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(path: string, init: ApiInit): Promise<Outcome<T>> => {
    setBusy(true);
    setError(null);
    try {
      return { ok: true, data: await apiJson<T>(path, init) };
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "The request failed.");
      return { ok: false };
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

export function ErrorAlert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div role="alert" className="error banner">
      {message}
    </div>
  );
}

// A button that asks again before doing something that cannot be undone.
export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  disabled,
}: {
  label: string;
  confirmLabel: string;
  question: ReactNode;
  onConfirm: () => void;
  disabled?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" className="secondary" disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span role="group" aria-label={label}>
      <span>{question} </span>
      <button
        type="button"
        autoFocus
        disabled={disabled}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>{" "}
      <button type="button" className="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function when(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
