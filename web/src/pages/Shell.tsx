import { useEffect, useState } from "react";
import { NavLink, Outlet, useLocation } from "react-router-dom";
import { apiJson, logout, setActingBid } from "../api/client";
import { ApiError } from "../api/errors";
import type { Business } from "../api/types";
import { ROLE_LABEL, useAuth } from "../auth";
import { adminPages } from "../lib/adminPages"; // admin

export function Shell() {
  const { session, actingBid } = useAuth();
  const { pathname } = useLocation(); // admin
  if (!session) return null;
  const platform = session.role === "platform_admin";
  const businessFree = pathname === "/admin/businesses"; // admin: needs no business chosen
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Earshot</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/calls">Calls</NavLink>
            </li>
            <li>
              <NavLink to="/overview">Overview</NavLink>
            </li>
            <li>
              <NavLink to="/agents">Agents</NavLink>
            </li>
            <li>
              <NavLink to="/regions">Regions</NavLink>
            </li>
            <li>
              <NavLink to="/pipeline">Pipeline</NavLink>
            </li>
            {/* chat + knowledge */}
            <li>
              <NavLink to="/chat">Chat</NavLink>
            </li>
            <li>
              <NavLink to="/knowledge">Knowledge</NavLink>
            </li>
            {/* admin */}
            {adminPages(session.role).map((p) => (
              <li key={p.path}>
                <NavLink to={p.path}>{p.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          {platform ? (
            <BusinessPicker value={actingBid} />
          ) : (
            <span>
              <span className="muted">Business </span>
              <strong data-testid="business">{session.bid}</strong>
            </span>
          )}
          <span>
            <span className="muted">Role </span>
            <strong data-testid="role">{ROLE_LABEL[session.role] ?? session.role}</strong>
          </span>
          <button type="button" className="secondary" onClick={() => void logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {platform && !actingBid && !businessFree ? (
          <section>
            <h1>Choose a business</h1>
            <p>Platform admins act on one business at a time: choose it in the header.</p>
          </section>
        ) : (
          // Keyed by business: a platform admin switching business starts every page afresh.
          <Outlet key={actingBid ?? ""} />
        )}
      </main>
    </>
  );
}

// Platform admins name the business they act on; every tenant request then carries it in
// X-Earshot-Business.
function BusinessPicker({ value }: { value: string | null }) {
  const [items, setItems] = useState<Business[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const ac = new AbortController();
    apiJson<{ items: Business[] }>("/api/v1/admin/businesses", { signal: ac.signal })
      .then((r) => setItems(r.items))
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setError(e instanceof ApiError ? e.message : "Could not list businesses.");
      });
    return () => ac.abort();
  }, []);
  return (
    <span>
      <label htmlFor="acting-bid" className="muted">
        Business{" "}
      </label>
      <select
        id="acting-bid"
        data-testid="business"
        value={value ?? ""}
        onChange={(e) => setActingBid(e.target.value || null)}
        disabled={!items}
      >
        <option value="">{items ? "Choose…" : "Loading…"}</option>
        {items?.map((b) => (
          <option key={b.bid} value={b.bid} disabled={b.status !== "active"}>
            {b.name ? `${b.name} (${b.bid})` : b.bid}
          </option>
        ))}
      </select>
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </span>
  );
}
