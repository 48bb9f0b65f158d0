import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { apiFetch, apiJson, readError } from "../api/client";
import type { KnowledgeDocument, Page } from "../api/chat";
import { ApiError } from "../api/errors";
import { followEvents, type LiveState } from "../api/events";
import { useAuth } from "../auth";
import { Empty, LoadError, Loading, Problems } from "../components/PageState";
import { StatusBadge } from "../components/StatusBadge";
import { formatDateTime } from "../lib/format";
import {
  applyKnowledgeChange,
  buildCreateBody,
  buildEditBody,
  canWriteKnowledge,
  CONTENT_TYPES,
  formatBytes,
  MAX_TITLE,
  keepEarlyChange,
  parseKnowledgeEvent,
  upsertWithEarly,
  type DocForm,
  type KnowledgeChange,
} from "../lib/knowledge";

const PAGE_SIZE = 50;
const STATUS_FILTERS = ["", "pending", "ready", "failed"] as const;

interface ListState {
  docs: KnowledgeDocument[];
  next: number | null;
  loading: boolean;
  error: string | null;
}

const message = (e: unknown, fallback: string) => (e instanceof ApiError ? e.message : fallback);

export default function KnowledgePage() {
  const { session } = useAuth();
  const canWrite = session ? canWriteKnowledge(session.role) : false;
  const [status, setStatus] = useState<string>("");
  const [list, setList] = useState<ListState>({ docs: [], next: null, loading: true, error: null });
  const listRef = useRef(list);
  listRef.current = list;
  // Live changes that arrived before their document did (src/lib/knowledge.ts).
  const early = useRef(new Map<number, KnowledgeChange>());
  const [live, setLive] = useState<LiveState>("connecting");
  const gen = useRef(0);

  const load = useCallback(
    async (before: number | null, g: number) => {
      setList((s) => ({ ...s, loading: true, error: null }));
      const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (status) q.set("status", status);
      if (before !== null) q.set("before", String(before));
      try {
        const p = await apiJson<Page<KnowledgeDocument>>(`/api/v1/knowledge?${q.toString()}`);
        if (g !== gen.current) return;
        setList((s) => ({
          docs: before === null ? p.items : s.docs.concat(p.items),
          next: p.next_before ?? null,
          loading: false,
          error: null,
        }));
      } catch (e) {
        if (g !== gen.current) return;
        setList((s) => ({ ...s, loading: false, error: message(e, "Loading failed.") }));
      }
    },
    [status],
  );

  useEffect(() => {
    const g = ++gen.current;
    setList({ docs: [], next: null, loading: true, error: null });
    void load(null, g);
  }, [load]);

  // Status changes from the embed worker and deletions, live.
  useEffect(() => {
    const ac = new AbortController();
    void followEvents(
      ac.signal,
      (e) => {
        const c = parseKnowledgeEvent(e.event, e.data);
        if (!c) return;
        keepEarlyChange(early.current, listRef.current.docs, c);
        setList((s) => ({ ...s, docs: applyKnowledgeChange(s.docs, c) }));
      },
      setLive,
    );
    return () => ac.abort();
  }, []);

  const saved = (d: KnowledgeDocument) => setList((s) => ({ ...s, docs: upsertWithEarly(s.docs, d, early.current) }));
  const removed = (id: number) => setList((s) => ({ ...s, docs: s.docs.filter((d) => d.id !== id) }));

  return (
    <section>
      <h1>Knowledge</h1>
      <p className="muted">
        Documents the chat answers from. A new or edited document is pending until it is embedded.{" "}
        <span className={`live live-${live}`} role="status">
          {live === "live" ? "Live" : live === "stopped" ? "Not live" : "Connecting…"}
        </span>
      </p>
      {canWrite && (
        <div className="doc-grid">
          <UploadForm onSaved={saved} />
          <CreateForm onSaved={saved} />
        </div>
      )}
      <div className="toolbar">
        <h2>Documents</h2>
        <span className="field">
          <label htmlFor="kb-status">Status</label>
          <select id="kb-status" value={status} onChange={(e) => setStatus(e.target.value)}>
            {STATUS_FILTERS.map((s) => (
              <option key={s} value={s}>
                {s === "" ? "Any" : s}
              </option>
            ))}
          </select>
        </span>
      </div>
      <DocumentList
        docs={list.docs}
        canWrite={canWrite}
        onSaved={saved}
        onRemoved={removed}
        empty={!list.loading && !list.error && list.docs.length === 0}
        filtered={status !== ""}
      />
      {list.loading && <Loading what="documents" />}
      {list.error && <LoadError message={list.error} onRetry={() => void load(list.docs.length ? list.next : null, gen.current)} />}
      {!list.loading && !list.error && list.next !== null && (
        <button type="button" className="secondary" onClick={() => void load(list.next, gen.current)}>
          More documents
        </button>
      )}
    </section>
  );
}

export function DocumentList({
  docs,
  canWrite,
  onSaved,
  onRemoved,
  empty,
  filtered,
}: {
  docs: KnowledgeDocument[];
  canWrite: boolean;
  onSaved: (d: KnowledgeDocument) => void;
  onRemoved: (id: number) => void;
  empty: boolean;
  filtered: boolean;
}) {
  if (empty) return <Empty>{filtered ? "No documents with this status." : "No documents yet."}</Empty>;
  return (
    <ul className="doc-list" aria-label="Documents">
      {docs.map((d) => (
        <DocumentRow key={d.id} doc={d} canWrite={canWrite} onSaved={onSaved} onRemoved={onRemoved} />
      ))}
    </ul>
  );
}

function DocumentRow({
  doc,
  canWrite,
  onSaved,
  onRemoved,
}: {
  doc: KnowledgeDocument;
  canWrite: boolean;
  onSaved: (d: KnowledgeDocument) => void;
  onRemoved: (id: number) => void;
}) {
  const [mode, setMode] = useState<"view" | "edit" | "confirm">("view");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const del = async () => {
    setBusy(true);
    setError(null);
    try {
      await apiJson<void>(`/api/v1/knowledge/${doc.id}`, { method: "DELETE" });
      onRemoved(doc.id);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) onRemoved(doc.id);
      else setError(message(e, "Deleting failed."));
      setBusy(false);
    }
  };

  return (
    <li className="doc-row" data-testid="document-row" data-document-id={doc.id}>
      <div>
        <div className="doc-title">{doc.title}</div>
        <div className="muted small">
          <StatusBadge status={doc.status} /> version {doc.version} · {doc.chunk_count} parts · {formatBytes(doc.size_bytes)} ·
          updated {formatDateTime(doc.updated_at)}
        </div>
        {doc.status === "failed" && doc.reason && <p className="error small pre">{doc.reason}</p>}
      </div>
      {canWrite && mode === "view" && (
        <div className="actions">
          <button type="button" className="secondary" onClick={() => setMode("edit")}>
            Edit<span className="sr-only"> {doc.title}</span>
          </button>
          <button type="button" className="secondary" onClick={() => setMode("confirm")}>
            Delete<span className="sr-only"> {doc.title}</span>
          </button>
        </div>
      )}
      {canWrite && mode === "confirm" && (
        <div className="actions" role="group" aria-label="Confirm deletion">
          <span>Delete this document and its parts?</span>
          <button type="button" onClick={() => void del()} disabled={busy} autoFocus>
            Delete
          </button>
          <button type="button" className="secondary" onClick={() => setMode("view")} disabled={busy}>
            Cancel
          </button>
        </div>
      )}
      {canWrite && mode === "edit" && (
        <EditForm
          doc={doc}
          onDone={(d) => {
            if (d) onSaved(d);
            setMode("view");
          }}
        />
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </li>
  );
}

function UploadForm({ onSaved }: { onSaved: (d: KnowledgeDocument) => void }) {
  const [title, setTitle] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const file = fileRef.current?.files?.[0];
    if (!file) {
      setError("File: choose a document (plain text, Markdown, HTML or PDF).");
      return;
    }
    const fd = new FormData();
    fd.append("file", file, file.name);
    if (title.trim() !== "") fd.append("title", title.trim());
    setBusy(true);
    try {
      const res = await apiFetch("/api/v1/knowledge/upload", { method: "POST", body: fd });
      if (!res.ok) throw await readError(res);
      const d = (await res.json()) as KnowledgeDocument;
      onSaved(d);
      setDone(`Uploaded “${d.title}”.`);
      setTitle("");
      if (fileRef.current) fileRef.current.value = "";
    } catch (err) {
      setError(message(err, "Uploading failed."));
    }
    setBusy(false);
  };

  return (
    <form className="card doc-form" onSubmit={(e) => void submit(e)} noValidate>
      <h3>Upload a document</h3>
      <span className="field">
        <label htmlFor="kb-file">File</label>
        <input id="kb-file" ref={fileRef} type="file" accept=".txt,.md,.markdown,.html,.htm,.pdf,text/plain,text/markdown,text/html,application/pdf" />
      </span>
      <span className="field">
        <label htmlFor="kb-upload-title">Title (optional)</label>
        <input id="kb-upload-title" value={title} maxLength={MAX_TITLE} onChange={(e) => setTitle(e.target.value)} />
      </span>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Upload
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {done && (
        <p role="status" className="muted">
          {done}
        </p>
      )}
    </form>
  );
}

const EMPTY_DOC: DocForm = { title: "", text: "", contentType: "text/plain" };

function DocFields({ id, form, setForm }: { id: string; form: DocForm; setForm: (f: DocForm) => void }) {
  return (
    <>
      <span className="field">
        <label htmlFor={`${id}-title`}>Title</label>
        <input id={`${id}-title`} value={form.title} maxLength={MAX_TITLE} onChange={(e) => setForm({ ...form, title: e.target.value })} />
      </span>
      <span className="field">
        <label htmlFor={`${id}-text`}>Text</label>
        <textarea id={`${id}-text`} rows={6} value={form.text} onChange={(e) => setForm({ ...form, text: e.target.value })} />
      </span>
      <span className="field">
        <label htmlFor={`${id}-type`}>Format</label>
        <select
          id={`${id}-type`}
          value={form.contentType}
          onChange={(e) => setForm({ ...form, contentType: e.target.value as DocForm["contentType"] })}
        >
          {CONTENT_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </span>
    </>
  );
}

function CreateForm({ onSaved }: { onSaved: (d: KnowledgeDocument) => void }) {
  const [form, setForm] = useState<DocForm>(EMPTY_DOC);
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    const built = buildCreateBody(form);
    setProblems(built.problems);
    if (!built.body) return;
    setBusy(true);
    try {
      const d = await apiJson<KnowledgeDocument>("/api/v1/knowledge", { method: "POST", json: built.body });
      onSaved(d);
      setForm(EMPTY_DOC);
    } catch (err) {
      setError(message(err, "Saving failed."));
    }
    setBusy(false);
  };

  return (
    <form className="card doc-form" onSubmit={(e) => void submit(e)} noValidate>
      <h3>Add a document from text</h3>
      <DocFields id="kb-new" form={form} setForm={setForm} />
      <div className="actions">
        <button type="submit" disabled={busy}>
          Add document
        </button>
      </div>
      {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

function EditForm({ doc, onDone }: { doc: KnowledgeDocument; onDone: (d: KnowledgeDocument | null) => void }) {
  const [was, setWas] = useState<{ title: string; text: string } | null>(null);
  const [form, setForm] = useState<DocForm>({ ...EMPTY_DOC, title: doc.title });
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  // The stored (extracted) text is what is edited: a new version is sent as plain text
  // unless another format is chosen.
  useEffect(() => {
    const ac = new AbortController();
    apiJson<KnowledgeDocument>(`/api/v1/knowledge/${doc.id}?include=text`, { signal: ac.signal })
      .then((d) => {
        const text = d.text ?? "";
        setWas({ title: d.title, text });
        setForm({ title: d.title, text, contentType: "text/plain" });
      })
      .catch((e: unknown) => {
        if (!ac.signal.aborted) setError(message(e, "Loading the text failed."));
      });
    return () => ac.abort();
  }, [doc.id]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!was) return;
    setError(null);
    const built = buildEditBody(form, was);
    setProblems(built.problems);
    if (!built.body) return;
    setBusy(true);
    try {
      onDone(await apiJson<KnowledgeDocument>(`/api/v1/knowledge/${doc.id}`, { method: "PUT", json: built.body }));
    } catch (err) {
      setError(message(err, "Saving failed."));
      setBusy(false);
    }
  };

  return (
    <form className="doc-form" onSubmit={(e) => void submit(e)} noValidate aria-label={`Edit ${doc.title}`}>
      {!was && !error && <Loading what="the text" />}
      {was && <DocFields id={`kb-edit-${doc.id}`} form={form} setForm={setForm} />}
      <div className="actions">
        <button type="submit" disabled={busy || !was}>
          Save
        </button>
        <button type="button" className="secondary" onClick={() => onDone(null)} disabled={busy}>
          Cancel
        </button>
      </div>
      {problems.length > 0 && <Problems intro="Not saved:" problems={problems} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}
