/** Stable error codes: clients and tests rely on them; transports map them to statuses in one place. */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "IDEMPOTENCY_KEY_REUSED"
  | "METHOD_NOT_ALLOWED"
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "UNAVAILABLE"
  | "OUTCOME_UNKNOWN"
  | "INTERNAL";

/** What every OUTCOME_UNKNOWN tells the client to do. */
export const RETRY_WITH_THE_SAME_KEY =
  "retry with the same Idempotency-Key: if it was committed the retry replays it, if not the retry commits it (without a key, a retry may count the sum twice)";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "AppError";
  }
}
