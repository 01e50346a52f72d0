import { ERROR_STATUS } from "./error-status.js";
import type { ErrorCode } from "./errors.js";

/**
 * The OpenAPI description of an error answer: the contract's body with one of `codes` (which share
 * one status), and `Retry-After` when one of them is retryable, as sendError answers.
 */
export function errorResponse(description: string, ...codes: ErrorCode[]) {
  const retryable = codes.some((code) => ERROR_STATUS[code].retryable);
  return {
    description: `${description} (${codes.join(", ")})`,
    ...(retryable
      ? {
          headers: {
            "Retry-After": { type: "string", pattern: "^[0-9]+$", description: "Seconds to wait before retrying" },
          },
        }
      : {}),
    type: "object",
    required: ["error"],
    additionalProperties: false,
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        additionalProperties: false,
        properties: {
          code: { type: "string", enum: codes },
          message: { type: "string", description: "What is wrong, for a person" },
        },
      },
    },
  };
}
