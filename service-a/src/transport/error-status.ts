import { status as GrpcStatus } from "@grpc/grpc-js";
import { AppError, type ErrorCode } from "../domain/errors.js";

/** The one place where error codes meet transport statuses. */
export const ERROR_STATUS: Record<ErrorCode, { http: number; grpc: GrpcStatus }> = {
  INVALID_ARGUMENT: { http: 400, grpc: GrpcStatus.INVALID_ARGUMENT },
  NOT_FOUND: { http: 404, grpc: GrpcStatus.NOT_FOUND },
  METHOD_NOT_ALLOWED: { http: 405, grpc: GrpcStatus.UNIMPLEMENTED },
  PAYLOAD_TOO_LARGE: { http: 413, grpc: GrpcStatus.RESOURCE_EXHAUSTED },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: GrpcStatus.INVALID_ARGUMENT },
  IDEMPOTENCY_KEY_REUSED: { http: 422, grpc: GrpcStatus.ALREADY_EXISTS },
  INTERNAL: { http: 500, grpc: GrpcStatus.INTERNAL },
  UNAVAILABLE: { http: 503, grpc: GrpcStatus.UNAVAILABLE },
};

export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError("INTERNAL", "internal error", { cause: error });
}
