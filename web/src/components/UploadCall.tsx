// "Upload a recording" on the calls page (business admins): POST /api/v1/ingest/calls. The
// new call then appears on the list through the live events, and its status moves there.
import { useRef, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import { apiFetch, readError } from "../api/client";
import { ApiError } from "../api/errors";
import { AUDIO_EXTENSIONS, buildUpload, EMPTY_UPLOAD, type UploadFields } from "../lib/upload";

// The gateway's default EARSHOT_INGEST_MAX_AUDIO_BYTES; a larger limit is the server's to say.
const MAX_BYTES = 64 * 1024 * 1024;

export function UploadCall() {
  const [open, setOpen] = useState(false);
  const [f, setF] = useState<UploadFields>(EMPTY_UPLOAD);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ id: number; externalId: string; created: boolean } | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);
  const set = <K extends keyof UploadFields>(k: K, v: UploadFields[K]) => setF((s) => ({ ...s, [k]: v }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setDone(null);
    const check = buildUpload(fileRef.current?.files?.[0], f, MAX_BYTES, new Date());
    if (!check.ok) {
      setError(check.error);
      return;
    }
    setBusy(true);
    try {
      const res = await apiFetch("/api/v1/ingest/calls", { method: "POST", body: check.body });
      if (!res.ok) throw await readError(res);
      const j = (await res.json()) as { id: number; external_id: string };
      setDone({ id: j.id, externalId: j.external_id, created: res.status === 201 });
      setF(EMPTY_UPLOAD);
      if (fileRef.current) fileRef.current.value = "";
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "The recording was not uploaded.");
    } finally {
      setBusy(false);
    }
  }

  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)} data-testid="upload-open">
        Upload a recording
      </button>
    );
  }
  return (
    <section className="card upload-call" aria-labelledby="upload-title">
      <div className="page-head">
        <h2 id="upload-title">Upload a recording</h2>
        <button type="button" className="link" onClick={() => setOpen(false)}>
          Close
        </button>
      </div>
      <form onSubmit={submit} className="upload-form">
        <label htmlFor="up-file">Recording ({AUDIO_EXTENSIONS.join(", ")})</label>
        <input id="up-file" type="file" ref={fileRef} accept={AUDIO_EXTENSIONS.map((x) => "." + x).join(",")} />
        <label htmlFor="up-ext">External id (blank: from the file name)</label>
        <input id="up-ext" value={f.externalId} maxLength={128} onChange={(e) => set("externalId", e.target.value)} />
        <label htmlFor="up-agent">Agent id</label>
        <input id="up-agent" value={f.agentId} onChange={(e) => set("agentId", e.target.value)} />
        <label htmlFor="up-agent-name">Agent name</label>
        <input id="up-agent-name" value={f.agentName} onChange={(e) => set("agentName", e.target.value)} />
        <label htmlFor="up-cust">Customer name</label>
        <input id="up-cust" value={f.customerName} onChange={(e) => set("customerName", e.target.value)} />
        <label htmlFor="up-phone">Customer phone</label>
        <input id="up-phone" type="tel" value={f.customerPhone} onChange={(e) => set("customerPhone", e.target.value)} />
        <label htmlFor="up-dir">Direction</label>
        <select id="up-dir" value={f.direction} onChange={(e) => set("direction", e.target.value as UploadFields["direction"])}>
          <option value="inbound">inbound</option>
          <option value="outbound">outbound</option>
          <option value="unknown">unknown</option>
        </select>
        <label htmlFor="up-start">Started (your time zone; blank: now)</label>
        <input id="up-start" type="datetime-local" value={f.startedAt} onChange={(e) => set("startedAt", e.target.value)} />
        <label htmlFor="up-note">Note</label>
        <textarea id="up-note" rows={2} maxLength={10000} value={f.note} onChange={(e) => set("note", e.target.value)} />
        <button type="submit" disabled={busy}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {done && (
        <p role="status" data-testid="upload-done">
          {done.created ? "Uploaded" : "Already uploaded"} as <Link to={`/calls/${done.id}`}>call {done.id}</Link> (
          {done.externalId}); its status changes on the list as it is processed.
        </p>
      )}
    </section>
  );
}
