import { useState, type FormEvent } from "react";
import { login } from "../api/client";
import { ApiError } from "../api/errors";

export function LoginPage() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [bid, setBid] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(email, password, bid);
      // The session change re-renders the app at the URL that was asked for.
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Sign-in failed.");
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="card login-form" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Earshot</h1>
        <p className="muted">Sign in to the call analytics dashboard.</p>
        <label htmlFor="login-email">Email</label>
        <input
          id="login-email"
          type="email"
          autoComplete="username"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
        />
        <label htmlFor="login-password">Password</label>
        <input
          id="login-password"
          type="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <label htmlFor="login-bid">Business</label>
        <input
          id="login-bid"
          type="text"
          autoComplete="organization"
          aria-describedby="login-bid-hint"
          value={bid}
          onChange={(e) => setBid(e.target.value)}
        />
        <p id="login-bid-hint" className="hint">
          Optional. Platform admins leave it empty and choose the business after signing in.
        </p>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
