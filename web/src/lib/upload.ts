// The "Upload a recording" form (POST /api/v1/ingest/calls, multipart; docs/ingest.md):
// checks what the browser can check before sending, and builds the multipart body.

export const AUDIO_EXTENSIONS = ["wav", "flac", "ogg", "mp3"] as const;

export interface UploadFields {
  externalId: string; // blank: derived from the file name and the time
  agentId: string;
  agentName: string;
  customerName: string;
  customerPhone: string;
  direction: "inbound" | "outbound" | "unknown";
  startedAt: string; // an <input type="datetime-local"> value in the browser's zone, or ""
  note: string;
}

export const EMPTY_UPLOAD: UploadFields = {
  externalId: "",
  agentId: "",
  agentName: "",
  customerName: "",
  customerPhone: "",
  direction: "inbound",
  startedAt: "",
  note: "",
};

function extension(name: string): string {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? "" : name.slice(dot + 1).toLowerCase();
}

// An external id for a file uploaded without one: "upload-<name>-<UTC yyyymmddhhmmss>",
// only the characters an id needs, at most 128.
export function defaultExternalId(fileName: string, now: Date): string {
  const dot = fileName.lastIndexOf(".");
  const stem = (dot > 0 ? fileName.slice(0, dot) : fileName)
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 80);
  const stamp = now.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return `upload-${stem || "call"}-${stamp}`;
}

// A datetime-local value ("2026-12-06T09:40" in the browser's zone) as the API's UTC time
// ("2026-12-06T04:10:00Z"); null when it is not a valid time.
export function localToUtc(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const d = new Date(value); // no zone in the string: the browser's own
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export type UploadCheck = { ok: true; body: FormData; externalId: string } | { ok: false; error: string };

// What the form sends, or the first problem in the form's words.
export function buildUpload(file: File | null | undefined, f: UploadFields, maxBytes: number, now: Date): UploadCheck {
  if (!file) return { ok: false, error: "Recording: choose an audio file." };
  if (!(AUDIO_EXTENSIONS as readonly string[]).includes(extension(file.name)))
    return { ok: false, error: `Recording: choose a ${AUDIO_EXTENSIONS.join(", ")} file.` };
  if (file.size === 0) return { ok: false, error: "Recording: the file is empty." };
  if (file.size > maxBytes)
    return { ok: false, error: `Recording: the file is larger than ${Math.floor(maxBytes / (1024 * 1024))} MiB.` };
  const externalId = f.externalId.trim() || defaultExternalId(file.name, now);
  if (externalId.length > 128) return { ok: false, error: "External id: at most 128 characters." };
  let startedAt: string | null = null;
  if (f.startedAt.trim() !== "") {
    startedAt = localToUtc(f.startedAt.trim());
    if (!startedAt) return { ok: false, error: "Started: not a valid date and time." };
  }
  const body = new FormData();
  body.append("audio", file, file.name);
  body.append("external_id", externalId);
  const optional: [string, string][] = [
    ["agent_id", f.agentId],
    ["agent_name", f.agentName],
    ["customer_name", f.customerName],
    ["customer_phone", f.customerPhone],
    ["note", f.note],
  ];
  for (const [k, v] of optional) if (v.trim() !== "") body.append(k, v.trim());
  body.append("direction", f.direction);
  if (startedAt) body.append("started_at", startedAt);
  return { ok: true, body, externalId };
}
