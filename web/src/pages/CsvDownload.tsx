// "Download CSV" for a list the API also gives as CSV (`format=csv`): fetched through the
// session client (the Authorization header and the 401 refresh apply) and saved as a Blob,
// like the calls export. The server's refusal shows verbatim.
import { useState } from "react";
import { apiFetch, readError } from "../api/client";
import { ApiError } from "../api/errors";
import { downloadBlob } from "../lib/download";

export function CsvDownload({
  path,
  filename,
  testId,
  disabled,
}: {
  path: string; // with its query string, without format
  filename: string; // without the date stamp and extension
  testId: string;
  disabled?: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function run() {
    setBusy(true);
    setError(null);
    try {
      const res = await apiFetch(`${path}${path.includes("?") ? "&" : "?"}format=csv`, { accept: "text/csv" });
      if (!res.ok) throw await readError(res);
      const blob = await res.blob();
      const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
      downloadBlob(new Blob([blob], { type: "text/csv;charset=utf-8" }), `${filename}-${stamp}.csv`);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Download failed.");
    } finally {
      setBusy(false);
    }
  }
  return (
    <span className="export">
      <button type="button" className="secondary" data-testid={testId} onClick={() => void run()} disabled={busy || disabled}>
        {busy ? "Downloading…" : "Download CSV"}
      </button>
      {error && (
        <span role="alert" className="error">
          {error}
        </span>
      )}
    </span>
  );
}
