import { useEffect, useState, type FormEvent } from "react";
import { useApi } from "../../api/useApi";
import { LoadError, Loading, Problems } from "../../components/PageState";
import {
  bidPath,
  LEAD_FILTER_MODES,
  PIPELINE_JSON_FIELDS,
  pipelineForm,
  pipelineUpdateBody,
  STT_PROVIDERS,
  type PipelineConfigBody,
  type PipelineForm,
} from "../../lib/admin";
import { ErrorAlert, useBid, useMutation } from "./common";

const TEXT_FIELDS: { key: "embedding_provider" | "language" | "default_country_code" | "concurrency" | "rate_limit_per_min" | "retention_days"; label: string; hint?: string }[] = [
  { key: "embedding_provider", label: "Embedding provider", hint: "hashed-bow, hashed-bow:N, ollama:MODEL, openai:MODEL or bedrock:MODEL" },
  { key: "language", label: "Language" },
  { key: "default_country_code", label: "Default country code" },
  { key: "concurrency", label: "Concurrency (1-256)" },
  { key: "rate_limit_per_min", label: "Rate limit per minute (1-100000)" },
  { key: "retention_days", label: "Retention days (1-3650)" },
];

export default function PipelineConfigPage() {
  const bid = useBid();
  const path = bid ? bidPath(bid, "/pipeline-config") : null;
  const cfg = useApi<PipelineConfigBody>(path);
  const m = useMutation();
  const [form, setForm] = useState<PipelineForm | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [saved, setSaved] = useState<string | null>(null);

  useEffect(() => {
    if (cfg.data) setForm(pipelineForm(cfg.data));
  }, [cfg.data]);

  async function save(e: FormEvent) {
    e.preventDefault();
    if (!form || !cfg.data || !path) return;
    setSaved(null);
    const b = pipelineUpdateBody(form, cfg.data);
    if (!b.ok) return setProblems(b.problems);
    setProblems([]);
    const r = await m.run<PipelineConfigBody>(path, { method: "PUT", json: b.body });
    if (r.ok) {
      setSaved(`Saved (version ${String(r.data.version ?? "?")}).`);
      await cfg.reload();
    }
  }

  if (cfg.loading && !cfg.data) return <Loading what="the pipeline config" />;
  if (cfg.error && !cfg.data) return <LoadError message={cfg.error} onRetry={() => void cfg.reload()} />;
  if (!form || !cfg.data) return null;
  const set = (patch: Partial<PipelineForm>) => setForm({ ...form, ...patch });
  const secretsSet = cfg.data.secrets_set ?? [];

  return (
    <section>
      <h1>Pipeline config</h1>
      <p className="muted">Version {String(cfg.data.version ?? "—")}. Only the fields you change are sent.</p>
      <form onSubmit={(e) => void save(e)} className="admin-form" aria-label="Pipeline config">
        <label htmlFor="p-stt">Transcriber</label>
        <select id="p-stt" value={form.stt_provider} onChange={(e) => set({ stt_provider: e.target.value })}>
          {STT_PROVIDERS.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        <label htmlFor="p-lead">Lead filter</label>
        <select id="p-lead" value={form.lead_filter_mode} onChange={(e) => set({ lead_filter_mode: e.target.value })}>
          {LEAD_FILTER_MODES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
        {TEXT_FIELDS.map((f) => (
          <div key={f.key}>
            <label htmlFor={`p-${f.key}`}>{f.label}</label>
            <input id={`p-${f.key}`} value={form[f.key]} onChange={(e) => set({ [f.key]: e.target.value })} aria-describedby={f.hint ? `p-${f.key}-hint` : undefined} />
            {f.hint && (
              <div id={`p-${f.key}-hint`} className="hint">
                {f.hint}
              </div>
            )}
          </div>
        ))}
        <label>
          <input type="checkbox" checked={form.hash_phone_after_analysis} onChange={(e) => set({ hash_phone_after_analysis: e.target.checked })} /> Hash phone numbers after analysis
        </label>
        {PIPELINE_JSON_FIELDS.map((k) => (
          <div key={k}>
            <label htmlFor={`p-json-${k}`}>{k} (JSON)</label>
            <textarea id={`p-json-${k}`} rows={5} spellCheck={false} value={form.json[k]} onChange={(e) => set({ json: { ...form.json, [k]: e.target.value } })} />
          </div>
        ))}
        <fieldset>
          <legend>Secrets (write-only: never shown)</legend>
          {secretsSet.length === 0 && form.secrets.length === 0 && <p className="muted">No secrets set.</p>}
          <ul>
            {secretsSet.map((name) => {
              const i = form.secrets.findIndex((s) => s.name === name);
              const s: PipelineForm["secrets"][number] = (i >= 0 ? form.secrets[i] : undefined) ?? { name, value: "", remove: false };
              const update = (patch: Partial<PipelineForm["secrets"][number]>) => {
                const next = [...form.secrets];
                if (i >= 0) next[i] = { ...s, ...patch };
                else next.push({ ...s, ...patch });
                set({ secrets: next });
              };
              return (
                <li key={name} data-testid="secret-row">
                  <strong>{name}</strong>: set.{" "}
                  <label htmlFor={`sec-${name}`}>Replace with</label>{" "}
                  <input id={`sec-${name}`} type="password" autoComplete="off" value={s.value} onChange={(e) => update({ value: e.target.value })} disabled={s.remove} />{" "}
                  <label>
                    <input type="checkbox" checked={s.remove} onChange={(e) => update({ remove: e.target.checked, value: "" })} /> Remove
                  </label>
                </li>
              );
            })}
            {form.secrets
              .map((s, i) => ({ s, i }))
              .filter(({ s }) => !secretsSet.includes(s.name) || s.name === "")
              .map(({ s, i }) => (
                <li key={`new-${i}`}>
                  <label htmlFor={`new-sec-name-${i}`}>New secret name</label>{" "}
                  <input
                    id={`new-sec-name-${i}`}
                    value={s.name}
                    onChange={(e) => set({ secrets: form.secrets.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })}
                  />{" "}
                  <label htmlFor={`new-sec-val-${i}`}>value (not set yet)</label>{" "}
                  <input
                    id={`new-sec-val-${i}`}
                    type="password"
                    autoComplete="off"
                    value={s.value}
                    onChange={(e) => set({ secrets: form.secrets.map((x, j) => (j === i ? { ...x, value: e.target.value } : x)) })}
                  />
                </li>
              ))}
          </ul>
          <button type="button" className="secondary" onClick={() => set({ secrets: [...form.secrets, { name: "", value: "", remove: false }] })}>
            Add a secret
          </button>
        </fieldset>
        {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
        <ErrorAlert message={m.error} />
        {cfg.error && <ErrorAlert message={cfg.error} />}
        <p role="status">{saved}</p>
        <div className="actions">
          <button type="submit" disabled={m.busy}>
            Save
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setForm(pipelineForm(cfg.data!))}>
            Reset
          </button>
        </div>
      </form>
    </section>
  );
}
