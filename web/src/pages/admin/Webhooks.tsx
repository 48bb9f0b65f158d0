import { Fragment, useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { apiJson } from "../../api/client";
import { ApiError } from "../../api/errors";
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

interface Attempt {
  attempt: number;
  outcome: string;
  response_code: number | null;
  latency_ms: number;
  error: string;
  next_attempt_at: string | null;
  at: string;
}

const DELIVERY_PAGE = 50;

// The delivery log, newest first, a page of 50 at a time ("Older deliveries" asks for those
// before the last shown: the API's `before` = `next_before`); each delivery's attempts on
// demand (GET .../deliveries/{id}, its `attempt_log`).
function Deliveries({ id }: { id: number }) {
  const [items, setItems] = useState<Delivery[]>([]);
  const [nextBefore, setNextBefore] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const m = useMutation();
  const gen = useRef(0);

  const load = useCallback(
    async (before: number | null) => {
      const g = before === null ? ++gen.current : gen.current;
      setLoading(true);
      setLoadError(null);
      const q = new URLSearchParams({ limit: String(DELIVERY_PAGE) });
      if (before !== null) q.set("before", String(before));
      try {
        const page = await apiJson<{ items: Delivery[]; next_before: number | null }>(`${BASE}/${id}/deliveries?${q.toString()}`);
        if (g !== gen.current) return;
        setItems((cur) => (before === null ? page.items : cur.concat(page.items)));
        setNextBefore(page.next_before);
      } catch (e) {
        if (g !== gen.current) return;
        setLoadError(e instanceof ApiError ? e.message : "Loading failed.");
      } finally {
        if (g === gen.current) setLoading(false);
      }
    },
    [id],
  );
  useEffect(() => {
    setItems([]);
    setNextBefore(null);
    setOpen(null);
    void load(null);
  }, [load]);

  async function redeliver(d: Delivery) {
    const r = await m.run<Delivery>(`${BASE}/${id}/deliveries/${d.id}/redeliver`, { method: "POST", json: {} });
    if (r.ok) setItems((cur) => cur.map((x) => (x.id === d.id ? r.data : x)));
  }
  return (
    <section aria-labelledby="dl-title">
      <h2 id="dl-title">Deliveries of webhook {id}</h2>
      <button type="button" className="secondary" onClick={() => void load(null)}>
        Refresh
      </button>
      <ErrorAlert message={m.error} />
      {loading && items.length === 0 && <Loading what="deliveries" />}
      {loadError && <LoadError message={loadError} onRetry={() => void load(items.length ? nextBefore : null)} />}
      {!loading && !loadError && items.length === 0 && <Empty>No deliveries yet.</Empty>}
      {items.length > 0 && (
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
              {items.map((d) => (
                <Fragment key={d.id}>
                  <tr data-testid="delivery-row" data-id={d.id}>
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
                      <button
                        type="button"
                        className="secondary"
                        data-testid="delivery-attempts"
                        aria-expanded={open === d.id}
                        onClick={() => setOpen(open === d.id ? null : d.id)}
                      >
                        Attempt log
                      </button>{" "}
                      <button type="button" className="secondary" disabled={m.busy} onClick={() => void redeliver(d)}>
                        Redeliver
                      </button>
                    </td>
                  </tr>
                  {open === d.id && (
                    <tr>
                      <td colSpan={7}>
                        <AttemptLog webhookId={id} deliveryId={d.id} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      <div className="pager">
        <span className="muted small" aria-live="polite">
          {items.length} {items.length === 1 ? "delivery" : "deliveries"} shown{nextBefore !== null ? ", older ones below" : ""}
        </span>
        {nextBefore !== null && (
          <button type="button" className="secondary" data-testid="deliveries-older" disabled={loading} onClick={() => void load(nextBefore)}>
            {loading ? "Loading…" : "Older deliveries"}
          </button>
        )}
      </div>
    </section>
  );
}

function AttemptLog({ webhookId, deliveryId }: { webhookId: number; deliveryId: number }) {
  const d = useApi<Delivery & { attempt_log: Attempt[] }>(`${BASE}/${webhookId}/deliveries/${deliveryId}`);
  if (d.loading && !d.data) return <Loading what="the attempts" />;
  if (d.error) return <LoadError message={d.error} onRetry={() => void d.reload()} />;
  if (!d.data) return null;
  const log = d.data.attempt_log ?? [];
  if (log.length === 0) return <p className="muted small">No attempt yet.</p>;
  return (
    <ol className="attempt-log" aria-label={`Attempts of delivery ${deliveryId}`} data-testid="attempt-log">
      {log.map((a) => (
        <li key={a.attempt} data-testid="attempt-row">
          Attempt {a.attempt}, {when(a.at)}: {a.outcome}
          {a.response_code !== null && `, HTTP ${a.response_code}`}, {a.latency_ms} ms
          {a.error && <span className="error">: {a.error}</span>}
          {a.next_attempt_at && <span className="muted"> (next attempt {when(a.next_attempt_at)})</span>}
        </li>
      ))}
    </ol>
  );
}
