import { useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { Empty, LoadError, Loading, Problems, TableWrap } from "../../components/PageState";
import { WEBHOOK_EVENTS, webhookBody, type WebhookForm } from "../../lib/admin";
import { ConfirmButton, ErrorAlert, useMutation, when } from "./common";

interface Webhook {
  id: number;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  paused: boolean;
  pause_reason: string;
  consecutive_failures: number;
  created_at: string;
}

interface Delivery {
  id: number;
  event_type: string;
  event_id: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  response_code: number | null;
  latency_ms: number | null;
  last_error: string;
  next_attempt_at: string | null;
  created_at: string;
  delivered_at: string | null;
}

const BASE = "/api/v1/webhooks";
const blank = (): WebhookForm & { id: number | null } => ({
  id: null,
  url: "",
  events: ["call.analyzed"],
  description: "",
  secret: "",
  enabled: true,
});

export default function WebhooksPage() {
  const list = useApi<{ items: Webhook[] }>(BASE);
  const m = useMutation();
  const [form, setForm] = useState(blank);
  const [problems, setProblems] = useState<string[]>([]);
  const [notice, setNotice] = useState<string | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);

  async function save(e: FormEvent) {
    e.preventDefault();
    const b = webhookBody(form, form.id === null ? "create" : "edit");
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    const r = await m.run<Webhook & { secret?: string }>(form.id === null ? BASE : `${BASE}/${form.id}`, {
      method: form.id === null ? "POST" : "PATCH",
      json: b.body,
    });
    if (r.ok) {
      setSecret(r.data.secret ?? null);
      setNotice(form.id === null ? "Webhook created." : "Webhook saved.");
      setForm(blank());
      await list.reload();
    }
  }
  async function act(path: string, method: string, json: unknown, done: string) {
    setNotice(null);
    const r = await m.run<unknown>(path, { method, json });
    if (r.ok) {
      const note = r.data && typeof r.data === "object" && "note" in r.data ? (r.data as { note: unknown }).note : undefined;
      setNotice(typeof note === "string" && note !== "" ? `${done} ${note}` : done);
    }
    await list.reload();
  }

  return (
    <section>
      <h1>Webhooks</h1>
      <p role="status">{notice}</p>
      {secret && (
        <div className="card" role="dialog" aria-modal="false" aria-labelledby="wh-secret">
          <h2 id="wh-secret">Signing secret</h2>
          <p>
            <strong>Copy it now: it is not shown again.</strong>
          </p>
          <p>
            <code className="secret" data-testid="webhook-secret">{secret}</code>
          </p>
          <button type="button" className="secondary" onClick={() => setSecret(null)}>
            Done
          </button>
        </div>
      )}
      <ErrorAlert message={m.error} />
      {list.loading && !list.data && <Loading what="webhooks" />}
      {list.error && <LoadError message={list.error} onRetry={() => void list.reload()} />}
      {list.data && list.data.items.length === 0 && <Empty>No webhooks yet.</Empty>}
      {list.data && list.data.items.length > 0 && (
        <TableWrap label="Webhooks">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">State</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((w) => (
                <tr key={w.id} data-testid="webhook-row" data-id={w.id}>
                  <td className="wrap">
                    {w.url}
                    {w.description && <div className="muted small">{w.description}</div>}
                  </td>
                  <td className="wrap">{w.events.join(", ")}</td>
                  <td>
                    {w.enabled ? "enabled" : "disabled"}
                    {w.paused && <div className="error small">paused: {w.pause_reason}</div>}
                    {w.consecutive_failures > 0 && <div className="small">{w.consecutive_failures} failures in a row</div>}
                  </td>
                  <td>
                    <button
                      type="button"
                      className="secondary"
                      onClick={() => setForm({ id: w.id, url: w.url, events: w.events, description: w.description, secret: "", enabled: w.enabled })}
                    >
                      Edit
                    </button>{" "}
                    <button type="button" className="secondary" disabled={m.busy} onClick={() => void act(`${BASE}/${w.id}/test`, "POST", {}, "Test event sent.")}>
                      Send test
                    </button>{" "}
                    {w.paused && (
                      <button type="button" className="secondary" disabled={m.busy} onClick={() => void act(`${BASE}/${w.id}`, "PATCH", { paused: false }, "Resumed.")}>
                        Resume
                      </button>
                    )}{" "}
                    <button type="button" className="secondary" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? null : w.id)}>
                      Deliveries
                    </button>{" "}
                    <ConfirmButton
                      label="Delete"
                      confirmLabel="Delete webhook"
                      question={<>Delete this webhook and its delivery log?</>}
                      disabled={m.busy}
                      onConfirm={() => void act(`${BASE}/${w.id}`, "DELETE", undefined, "Webhook deleted.")}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {open !== null && <Deliveries id={open} />}
      <form onSubmit={(e) => void save(e)} aria-labelledby="wh-form" className="admin-form">
        <h2 id="wh-form">{form.id === null ? "New webhook" : "Edit webhook"}</h2>
        <label htmlFor="wh-url">URL</label>
        <input id="wh-url" type="url" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
        <label htmlFor="wh-desc">Description</label>
        <input id="wh-desc" value={form.description} onChange={(e) => setForm({ ...form, description: e.target.value })} />
        <fieldset>
          <legend>Events</legend>
          {WEBHOOK_EVENTS.map((ev) => (
            <label key={ev}>
              <input
                type="checkbox"
                checked={form.events.includes(ev)}
                onChange={(e) => setForm({ ...form, events: e.target.checked ? [...form.events, ev] : form.events.filter((x) => x !== ev) })}
              />{" "}
              {ev}{" "}
            </label>
          ))}
        </fieldset>
        <label htmlFor="wh-secret-in">Signing secret ({form.id === null ? "empty: the server makes one" : "empty: keep the current one"})</label>
        <input id="wh-secret-in" type="password" autoComplete="off" value={form.secret} onChange={(e) => setForm({ ...form, secret: e.target.value })} />
        {form.id !== null && (
          <label>
            <input type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} /> Enabled
          </label>
        )}
        {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            {form.id === null ? "Create webhook" : "Save"}
          </button>{" "}
          {form.id !== null && (
            <button type="button" className="secondary" onClick={() => setForm(blank())}>
              Cancel
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

function Deliveries({ id }: { id: number }) {
  const log = useApi<{ items: Delivery[]; next_before: number | null }>(`${BASE}/${id}/deliveries`);
  const m = useMutation();
  async function redeliver(d: Delivery) {
    if ((await m.run(`${BASE}/${id}/deliveries/${d.id}/redeliver`, { method: "POST", json: {} })).ok) await log.reload();
  }
  return (
    <section aria-labelledby="dl-title">
      <h2 id="dl-title">Deliveries of webhook {id}</h2>
      <button type="button" className="secondary" onClick={() => void log.reload()}>
        Refresh
      </button>
      <ErrorAlert message={m.error} />
      {log.loading && !log.data && <Loading what="deliveries" />}
      {log.error && <LoadError message={log.error} onRetry={() => void log.reload()} />}
      {log.data && log.data.items.length === 0 && <Empty>No deliveries yet.</Empty>}
      {log.data && log.data.items.length > 0 && (
        <TableWrap label="Deliveries">
          <table className="data">
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col" className="num">
                  HTTP
                </th>
                <th scope="col">Last error</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {log.data.items.map((d) => (
                <tr key={d.id} data-testid="delivery-row">
                  <td>{when(d.created_at)}</td>
                  <td>{d.event_type}</td>
                  <td>
                    <span className={`badge badge-${d.status}`}>{d.status}</span>
                    {d.status === "pending" && d.next_attempt_at && <div className="small muted">next {when(d.next_attempt_at)}</div>}
                  </td>
                  <td className="num">{d.attempts}</td>
                  <td className="num">{d.response_code ?? "—"}</td>
                  <td className="wrap">{d.last_error}</td>
                  <td>
                    <button type="button" className="secondary" disabled={m.busy} onClick={() => void redeliver(d)}>
                      Redeliver
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </section>
  );
}
