import { MAX_OPERAND } from "@sum/contract";
import { type ApiTag, errorResponse, HEALTH_TAG } from "@sum/service-kit";
import { IDEMPOTENCY_KEY } from "../domain/calculate-sum.js";

/**
 * The route schemas of Service A's HTTP API: Fastify serializes the answers with them and
 * @fastify/swagger makes GET /openapi.json from them, so the document is the routes' own.
 */

/** The document's own words on Service A, and its tag beside service-kit's (health, meta). */
export const API_DESCRIPTION =
  "Adds two integers and answers once the sum's event is durably committed to the outbox, from which " +
  "Debezium publishes it to Kafka for Service B's running total. An Idempotency-Key makes a retry safe.";
export const SUMS_TAG: ApiTag = { name: "sums", description: "Sums, each committed as one event" };

const unavailable = errorResponse("Not processed; retry later", "UNAVAILABLE");

const operand = {
  type: "integer",
  minimum: -MAX_OPERAND,
  maximum: MAX_OPERAND,
  description: "A JSON number whose exact value is an integer (2, 2.0 or 1e3); |a+b| must be in range too",
};

export const sumSchema = {
  operationId: "calculateSum",
  tags: [SUMS_TAG.name],
  summary: "Add two integers; answered once the event is durably committed",
  description:
    "Validates a and b, commits the sum as one event to the outbox and answers with it. With an " +
    "Idempotency-Key, a retry with the same a and b within 24 h gets the original answer, not a second event.",
  headers: {
    type: "object",
    properties: {
      "idempotency-key": {
        type: "string",
        pattern: IDEMPOTENCY_KEY.source,
        description: "The same key with the same a and b within 24 h replays the original answer",
      },
      traceparent: { type: "string", description: "W3C trace context; a malformed one is replaced" },
    },
  },
  body: {
    type: "object",
    required: ["a", "b"],
    properties: { a: operand, b: operand },
  },
  response: {
    200: {
      description: "Committed (or replayed for a known Idempotency-Key)",
      headers: {
        "X-Service-ID": { type: "string", description: "The instance that answered" },
        "Idempotent-Replayed": { type: "string", enum: ["true"], description: "Present on a replay" },
      },
      type: "object",
      required: ["result", "a", "b", "event_id", "service_id", "timestamp"],
      additionalProperties: false,
      properties: {
        result: { type: "integer" },
        a: { type: "integer" },
        b: { type: "integer" },
        event_id: { type: "string", format: "uuid" },
        service_id: { type: "string" },
        timestamp: { type: "string", format: "date-time" },
      },
    },
    400: errorResponse(
      "Malformed JSON, a field missing, not an integer, out of range, or a bad key",
      "INVALID_ARGUMENT",
    ),
    413: errorResponse("Body over 16 KiB", "PAYLOAD_TOO_LARGE"),
    415: errorResponse("Body not application/json", "UNSUPPORTED_MEDIA_TYPE"),
    422: errorResponse("Idempotency-Key used within 24 h with another a or b", "IDEMPOTENCY_KEY_REUSED"),
    500: errorResponse("Failed; OUTCOME_UNKNOWN: retry with the same Idempotency-Key", "INTERNAL", "OUTCOME_UNKNOWN"),
    503: unavailable,
  },
};

const status = (value: string) => ({
  type: "object",
  required: ["status", "service_id"],
  additionalProperties: false,
  properties: { status: { type: "string", enum: [value] }, service_id: { type: "string" } },
});

export const healthzSchema = {
  operationId: "getLiveness",
  tags: [HEALTH_TAG.name],
  summary: "Liveness",
  description: "200 while the process runs and its event loop answers; it checks no dependency.",
  response: { 200: { description: "The process is alive", ...status("alive") } },
};

export const readyzSchema = {
  operationId: "getReadiness",
  tags: [HEALTH_TAG.name],
  description: "200 while the instance can take sums; otherwise 503 UNAVAILABLE, whose message says why not.",
  summary:
    "Readiness: the database is reachable, sums can be written (or failed for under 5 s), and the instance is not stopping",
  response: { 200: { description: "Ready", ...status("ready") }, 503: unavailable },
};
