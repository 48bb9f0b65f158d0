// The call's recording. <audio src> cannot send the Authorization header, so the file is
// fetched through the session client (token, 401 refresh) as a Blob and played from an
// object URL (CSP: media-src blob:), revoked when the call changes or the page goes. Nothing
// is fetched until "Load recording" is pressed (recordings can be long).

import { useEffect, useRef, useState, type RefObject } from "react";
import { apiFetch, readError } from "../api/client";
import { ApiError } from "../api/errors";

type State =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "none" }
  | { state: "error"; message: string }
  | { state: "ok"; url: string };

export function AudioPlayer({
  callId,
  audioRef,
  onTime,
  onReady,
}: {
  callId: number;
  audioRef: RefObject<HTMLAudioElement>;
  onTime: (ms: number) => void;
  onReady: () => void; // the audio's metadata is known: pending seeks may apply
}) {
  const [s, setS] = useState<State>({ state: "idle" });
  const urlRef = useRef<string | null>(null);
  const acRef = useRef<AbortController | null>(null);

  useEffect(() => {
    setS({ state: "idle" });
    return () => {
      acRef.current?.abort();
      if (urlRef.current) URL.revokeObjectURL(urlRef.current);
      urlRef.current = null;
    };
  }, [callId]);

  async function load() {
    acRef.current?.abort();
    const ac = new AbortController();
    acRef.current = ac;
    setS({ state: "loading" });
    try {
      const res = await apiFetch(`/api/v1/calls/${callId}/audio`, { signal: ac.signal, accept: "audio/*" });
      if (res.status === 404) {
        setS({ state: "none" });
        return;
      }
      if (!res.ok) throw await readError(res);
      const blob = await res.blob();
      if (ac.signal.aborted) return;
      if (urlRef.current) URL.revokeObjectURL(urlRef.current);
      urlRef.current = URL.createObjectURL(blob);
      setS({ state: "ok", url: urlRef.current });
    } catch (e) {
      if (ac.signal.aborted) return;
      setS({ state: "error", message: e instanceof ApiError ? e.message : "The recording could not be loaded." });
    }
  }

  return (
    <div className="audio-player">
      {s.state === "idle" && (
        <button type="button" onClick={() => void load()}>
          Load recording
        </button>
      )}
      {s.state === "loading" && <p role="status">Loading recording…</p>}
      {s.state === "none" && <p className="muted">No recording</p>}
      {s.state === "error" && (
        <p role="alert" className="error">
          {s.message}{" "}
          <button type="button" className="secondary" onClick={() => void load()}>
            Retry
          </button>
        </p>
      )}
      {s.state === "ok" && (
        <audio
          ref={audioRef}
          data-testid="audio"
          controls
          preload="auto"
          src={s.url}
          aria-label="Call recording"
          onTimeUpdate={(e) => onTime(e.currentTarget.currentTime * 1000)}
          onSeeked={(e) => onTime(e.currentTarget.currentTime * 1000)}
          onLoadedMetadata={onReady}
        />
      )}
    </div>
  );
}
