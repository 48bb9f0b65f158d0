// The call's recording. Nothing is fetched until "Load recording" is pressed. The player
// first asks POST /api/v1/calls/{id}/audio-url for a signed URL, which the <audio> element
// streams itself with Range requests (no Authorization header needed; CSP media-src 'self');
// the URL is asked for again when it is about to expire and the user plays or seeks, or when
// the stream fails. A gateway without that route (404, 405) gets the older way: the file
// fetched whole through the session client (token, 401 refresh) as a Blob and played from an
// object URL (CSP media-src blob:), revoked when the call changes or the page goes. A 404
// from that fetch means the call has no recording.

import { useEffect, useRef, useState, type RefObject, type SyntheticEvent } from "react";
import { apiFetch, readError } from "../api/client";
import { ApiError } from "../api/errors";
import { audioUrlFallback, needsRenewal, parseSignedAudio, type SignedAudio } from "../lib/callAudio";

type State =
  | { state: "idle" }
  | { state: "loading" }
  | { state: "none" }
  | { state: "error"; message: string }
  | { state: "ok"; url: string; signed: SignedAudio | null };

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
  const urlRef = useRef<string | null>(null); // the object URL to revoke
  const acRef = useRef<AbortController | null>(null);
  const renewing = useRef(false);
  const failedOnce = useRef(false); // a stream error already renewed the URL once
  // Where to go on once a renewed URL has loaded (time in seconds, and whether to play).
  const resume = useRef<{ t: number; play: boolean } | null>(null);

  useEffect(() => {
    setS({ state: "idle" });
    return () => {
      acRef.current?.abort();
      if (urlRef.current) URL.revokeObjectURL(urlRef.current);
      urlRef.current = null;
      resume.current = null;
      renewing.current = false;
    };
  }, [callId]);

  // The signed URL, or "blob" when the route is absent; throws ApiError otherwise.
  async function signedUrl(signal: AbortSignal): Promise<SignedAudio | "blob"> {
    const res = await apiFetch(`/api/v1/calls/${callId}/audio-url`, { method: "POST", json: {}, signal });
    if (!res.ok) {
      if (audioUrlFallback(res.status) === "blob") return "blob";
      throw await readError(res);
    }
    const got = parseSignedAudio(await res.json().catch(() => null), Date.now());
    return got ?? "blob";
  }

  async function load() {
    acRef.current?.abort();
    const ac = new AbortController();
    acRef.current = ac;
    failedOnce.current = false;
    setS({ state: "loading" });
    try {
      const signed = await signedUrl(ac.signal);
      if (ac.signal.aborted) return;
      if (signed !== "blob") {
        setS({ state: "ok", url: signed.url, signed });
        return;
      }
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
      setS({ state: "ok", url: urlRef.current, signed: null });
    } catch (e) {
      if (ac.signal.aborted) return;
      setS({ state: "error", message: e instanceof ApiError ? e.message : "The recording could not be loaded." });
    }
  }

  // A fresh signed URL, keeping the position (and playing on when asked).
  async function renew(play: boolean) {
    const a = audioRef.current;
    if (renewing.current || !a) return;
    renewing.current = true;
    const ac = acRef.current ?? new AbortController();
    resume.current = { t: a.currentTime, play };
    try {
      const signed = await signedUrl(ac.signal);
      if (ac.signal.aborted) return;
      if (signed === "blob") {
        // The route went away: load the file the older way.
        renewing.current = false;
        await load();
        return;
      }
      setS({ state: "ok", url: signed.url, signed });
    } catch (e) {
      if (ac.signal.aborted) return;
      resume.current = null;
      setS({ state: "error", message: e instanceof ApiError ? e.message : "The recording could not be loaded." });
    } finally {
      renewing.current = false;
    }
  }

  const signed = s.state === "ok" ? s.signed : null;
  function beforeUse(e: SyntheticEvent<HTMLAudioElement>, play: boolean) {
    if (!signed || !needsRenewal(signed, Date.now())) return;
    if (play) e.currentTarget.pause();
    void renew(play);
  }

  function loaded(e: SyntheticEvent<HTMLAudioElement>) {
    const a = e.currentTarget;
    const r = resume.current;
    resume.current = null;
    failedOnce.current = false;
    if (r) {
      a.currentTime = r.t;
      if (r.play) void a.play().catch(() => undefined);
    }
    onReady();
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
          data-source={s.signed ? "signed" : "blob"}
          controls
          preload={s.signed ? "metadata" : "auto"}
          src={s.url}
          aria-label="Call recording"
          onTimeUpdate={(e) => onTime(e.currentTarget.currentTime * 1000)}
          onSeeked={(e) => onTime(e.currentTarget.currentTime * 1000)}
          onPlay={(e) => beforeUse(e, true)}
          onSeeking={(e) => beforeUse(e, !e.currentTarget.paused)}
          onLoadedMetadata={loaded}
          onError={(e) => {
            // An expired or refused signed URL: one fresh URL, then the error stands.
            if (!s.signed) return;
            if (failedOnce.current) {
              setS({ state: "error", message: "The recording could not be played." });
              return;
            }
            failedOnce.current = true;
            const a = e.currentTarget;
            resume.current = { t: a.currentTime, play: !a.paused };
            void renew(!a.paused);
          }}
        />
      )}
    </div>
  );
}
