// The gateway answers every error as {"error": {"code", "message"}}; anything else (a proxy's
// HTML page, an empty body) becomes a message from the status.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function errorFromBody(status: number, body: string): ApiError {
  try {
    const j: unknown = JSON.parse(body);
    if (j && typeof j === "object" && "error" in j) {
      const e = (j as { error: unknown }).error;
      if (e && typeof e === "object") {
        const { code, message } = e as { code?: unknown; message?: unknown };
        if (typeof message === "string" && message !== "") {
          return new ApiError(status, typeof code === "string" ? code : "unknown", message);
        }
      }
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, "http_" + status, fallbackMessage(status));
}

function fallbackMessage(status: number): string {
  if (status === 0) return "The server could not be reached.";
  if (status === 401) return "Your session has ended; sign in again.";
  if (status === 403) return "You are not allowed to do this.";
  if (status === 404) return "Not found.";
  if (status === 429) return "Too many requests; try again shortly.";
  if (status >= 500) return `The server failed (HTTP ${status}); try again.`;
  return `Request failed (HTTP ${status}).`;
}
