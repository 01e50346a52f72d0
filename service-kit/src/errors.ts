/**
 * Stable error codes of both services: clients and tests rely on them; error-status.ts maps them to
 * transport statuses in one place.
 */
export type ErrorCode =
  | "INVALID_ARGUMENT"
  | "IDEMPOTENCY_KEY_REUSED"
  | "METHOD_NOT_ALLOWED"
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED_MEDIA_TYPE"
  | "TOO_MANY_REQUESTS"
  | "UNAVAILABLE"
  | "OUTCOME_UNKNOWN"
  | "INTERNAL";

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
