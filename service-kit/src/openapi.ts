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

/** An OpenAPI tag: operations under one name, which client generators group them by. */
export interface ApiTag {
  name: string;
  description: string;
}

/** The tags of the routes every service has: its probes, and what it says about itself. */
export const HEALTH_TAG: ApiTag = {
  name: "health",
  description: "Liveness and readiness, for orchestrators, load balancers and the stacks' health checks",
};
export const META_TAG: ApiTag = {
  name: "meta",
  description: "What the service says about itself: its Prometheus metrics and this document",
};

/** GET /healthz of a service that only says it is alive. */
export const healthzSchema = {
  operationId: "getLiveness",
  tags: [HEALTH_TAG.name],
  summary: "Liveness",
  description: "200 while the process runs and its event loop answers; it checks no dependency.",
  response: {
    200: {
      description: "The process is alive",
      type: "object",
      required: ["status"],
      additionalProperties: false,
      properties: { status: { type: "string", enum: ["alive"] } },
    },
  },
};

/** GET /readyz: 200 ready, or 503 saying why not; `summary` says what ready means for the service. */
export function readyzSchema(summary: string) {
  return {
    operationId: "getReadiness",
    tags: [HEALTH_TAG.name],
    summary,
    description: "200 while the service can do its work; otherwise 503 UNAVAILABLE, whose message says why not.",
    response: {
      200: {
        description: "Ready",
        type: "object",
        required: ["status"],
        additionalProperties: false,
        properties: { status: { type: "string", enum: ["ready"] } },
      },
      503: errorResponse("Not ready, saying why", "UNAVAILABLE"),
    },
  };
}
