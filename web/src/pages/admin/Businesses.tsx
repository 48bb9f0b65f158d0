import { useState, type FormEvent } from "react";
import { getActingBid, setActingBid } from "../../api/client";
import type { Business } from "../../api/types";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { newBusinessBody } from "../../lib/admin";
import { ConfirmButton, ErrorAlert, useMutation, when } from "./common";

const BASE = "/api/v1/admin/businesses";

export default function BusinessesPage() {
  const list = useApi<{ items: Business[] }>(BASE);
  const m = useMutation();
  const [form, setForm] = useState({ bid: "", name: "", adminEmail: "", adminPassword: "" });
  const [problems, setProblems] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    const b = newBusinessBody(form);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    setNotice(null);
    const r = await m.run<Business>(BASE, { method: "POST", json: b.body });
    if (r.ok) {
      setNotice(`Business ${r.data.bid} registered.`);
      setForm({ bid: "", name: "", adminEmail: "", adminPassword: "" });
      await list.reload();
    }
  }
  async function setStatus(b: Business, status: "active" | "disabled") {
    setNotice(null);
    const r = await m.run<Business>(`${BASE}/${encodeURIComponent(b.bid)}`, { method: "PATCH", json: { status } });
    if (r.ok) {
      // The business acted on cannot be acted on once disabled.
      if (status === "disabled" && getActingBid() === b.bid) setActingBid(null);
      await list.reload();
    }
  }

  return (
    <section>
      <h1>Businesses</h1>
      <p role="status">{notice}</p>
      <ErrorAlert message={m.error} />
      {list.loading && !list.data && <Loading what="businesses" />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>No businesses yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="Businesses">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((b) => (
                <tr key={b.bid} data-testid="business-row" data-bid={b.bid}>
                  <td>
                    <code>{b.bid}</code>
                  </td>
                  <td>{b.name}</td>
                  <td>{b.status}</td>
                  <td>{when(b.created_at)}</td>
                  <td>
                    {b.status === "active" ? (
                      <ConfirmButton
                        label="Disable"
                        confirmLabel="Disable business"
                        question={<>Disable {b.bid}? Its users cannot sign in and its API keys stop working.</>}
                        disabled={m.busy}
                        onConfirm={() => void setStatus(b, "disabled")}
                      />
                    ) : (
                      <button type="button" className="secondary" disabled={m.busy} onClick={() => void setStatus(b, "active")}>
                        Enable
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <form onSubmit={(e) => void create(e)} className="admin-form" aria-labelledby="b-new">
        <h2 id="b-new">Register a business</h2>
        <label htmlFor="b-bid">Business id (a-z, 0-9, _ and -)</label>
        <input id="b-bid" value={form.bid} onChange={(e) => setForm({ ...form, bid: e.target.value })} />
        <label htmlFor="b-name">Name</label>
        <input id="b-name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
        <label htmlFor="b-email">First admin's email (optional)</label>
        <input id="b-email" type="email" autoComplete="off" value={form.adminEmail} onChange={(e) => setForm({ ...form, adminEmail: e.target.value })} />
        <label htmlFor="b-pass">First admin's password</label>
        <input id="b-pass" type="password" autoComplete="new-password" value={form.adminPassword} onChange={(e) => setForm({ ...form, adminPassword: e.target.value })} />
        {problems.length > 0 && <Problems intro="Not registered:" problems={problems} />}
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            Register
          </button>
        </div>
      </form>
    </section>
  );
}
