// Where the business's escalation alerts and CRM write-back go (GET/PUT
// /api/v1/notify/settings). PUT replaces the whole document, so the form sends every field.
import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { LoadError, Loading, Problems } from "../../components/PageState";
import { notifyBody, notifyForm, SEVERITIES, type NotifyForm, type NotifySettings } from "../../lib/adminConfig";
import { ErrorAlert, useMutation } from "./common";

const PATH = "/api/v1/notify/settings";

export default function NotificationsPage() {
  const cfg = useApi<NotifySettings>(PATH);
  const m = useMutation();
  const [form, setForm] = useState<NotifyForm | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    if (cfg.data) setForm(notifyForm(cfg.data));
  }, [cfg.data]);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!form) return;
    setSaved(null);
    const b = notifyBody(form);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    const r = await m.run<NotifySettings>(PATH, { method: "PUT", json: b.body });
    if (r.ok) {
      setSaved("Saved.");
      setForm(notifyForm(r.data));
    }
  }

  if (cfg.loading && !cfg.data) return <Loading what="the notification settings" />;
  if (cfg.error && !cfg.data) return <LoadError message={cfg.error} onRetry={() => void cfg.reload()} />;
  if (!form) return null;
  const set = (patch: Partial<NotifyForm>) => setForm({ ...form, ...patch });

  return (
    <section aria-labelledby="notify-title">
      <h1 id="notify-title">Notifications</h1>
      <p className="muted">
        Escalation alerts at or above the minimum severity go by e-mail and to a chat webhook; CRM write-back adds an activity to the matching lead of the LeadSquared CRM set in
        the pipeline config. Webhook subscriptions are on the Webhooks page.
      </p>
      <form onSubmit={(e) => void save(e)} className="admin-form" aria-label="Notification settings" data-testid="notify-form">
        <fieldset>
          <legend>Escalation alerts</legend>
          <label htmlFor="n-emails">E-mail addresses (one a line, at most 50)</label>
          <textarea id="n-emails" data-testid="notify-emails" rows={4} spellCheck={false} value={form.email_to} onChange={(e) => set({ email_to: e.target.value })} />
          <label htmlFor="n-chat">Chat webhook URL (empty: none)</label>
          <input id="n-chat" data-testid="notify-chat-url" type="url" value={form.chat_webhook_url} onChange={(e) => set({ chat_webhook_url: e.target.value })} />
          <label htmlFor="n-sev">Minimum severity</label>
          <select id="n-sev" data-testid="notify-min-severity" value={form.min_severity} onChange={(e) => set({ min_severity: e.target.value })}>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </fieldset>
        <label>
          <input type="checkbox" data-testid="notify-crm-writeback" checked={form.crm_writeback} onChange={(e) => set({ crm_writeback: e.target.checked })} /> CRM write-back
        </label>
        <label htmlFor="n-link">Link base URL (empty: the service's own address)</label>
        <input
          id="n-link"
          data-testid="notify-link-base"
          type="url"
          maxLength={512}
          value={form.link_base_url}
          onChange={(e) => set({ link_base_url: e.target.value })}
          aria-describedby="n-link-hint"
        />
        <div id="n-link-hint" className="hint">
          The links to calls in alerts, events and CRM activities start with this.
        </div>
        {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
        <ErrorAlert message={m.error} />
        <p role="status">{saved}</p>
        <div className="actions">
          <button type="submit" data-testid="notify-save" disabled={m.busy}>
            Save
          </button>{" "}
          <button type="button" className="secondary" onClick={() => cfg.data && setForm(notifyForm(cfg.data))}>
            Reset
          </button>
        </div>
      </form>
    </section>
  );
}
