import { status as GrpcStatus } from "@grpc/grpc-js";
import { AppError, type ErrorCode } from "./errors.js";

/**
 * The one place where error codes meet transport statuses. `retryable`: whether sending the same
 * request again can succeed (HTTP adds Retry-After to those).
 *
 * OUTCOME_UNKNOWN is a 500, not a 503: 503 says the request was not processed, and clients and
 * proxies retry it blindly, which for a sum that may have committed counts it twice without a key.
 * 504 is a gateway's status (nginx's own). The body's code tells it apart from INTERNAL.
 */
export const ERROR_STATUS: Record<ErrorCode, { http: number; grpc: GrpcStatus; retryable: boolean }> = {
  INVALID_ARGUMENT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT, retryable: false },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND, retryable: false },
  METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED, retryable: false },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retryable: false },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT, retryable: false },
  IDEMPOTENCY_KEY_REUSED: { http: 422, grpc: GrpcStatus.ALREADY_EXISTS, retryable: false },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL, retryable: false },
  OUTCOME_UNKNOWN: { http: 500, grpc: GrpcStatus.UNKNOWN, retryable: true },
  // nginx's own, over gRPC: a client address over its calls in flight (nginx/nginx.conf).
  TOO_MANY_REQUESTS: { http: 429, grpc: GrpcStatus.RESOURCE_EXHAUSTED, retryable: true },
  UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE, retryable: true },
};

export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("INTERNAL", "internal error", { cause: error });
}
