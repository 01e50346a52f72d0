import { type ApiTag, errorResponse, readyzSchema as readyzSchemaOf } from "@sum/service-kit";

/**
 * The route schemas of Service B's HTTP API: Fastify validates the requests and serializes the
 * answers with them, and @fastify/swagger makes GET /openapi.json from them.
 */

/** The document's own words on Service B, and its tags beside service-kit's (health, meta). */
export const API_DESCRIPTION =
  "Applies each sum event from Kafka to the running total once, and reads the total and whether an " +
  "event is in it: from the replica by default (eventual), from the leader with consistency=strong.";
export const TOTALS_TAG: ApiTag = { name: "totals", description: "The running total of every applied sum" };
export const EVENTS_TAG: ApiTag = { name: "events", description: "Whether one sum's event is in the total" };

const unreadable = errorResponse("Neither the replica nor the leader (strong: the leader) can be read", "UNAVAILABLE");
const badQuery = errorResponse("A query parameter out of its schema", "INVALID_ARGUMENT");
const refused = errorResponse("The database refused the read: a fault of ours, which a retry cannot mend", "INTERNAL");

const consistency = {
  type: "object",
  properties: {
    consistency: {
      type: "string",
      enum: ["eventual", "strong"],
      default: "eventual",
      description: "strong reads the leader; eventual the replica while its lag is within REPLICA_MAX_LAG_MS",
    },
  },
};

export const summationSchema = {
  operationId: "getSummation",
  tags: [TOTALS_TAG.name],
  description: "The running total alone, as the original contract served it; GET /api/total says more.",
  summary: "The running total as a bare JSON number, written exactly (it may exceed 2^53)",
  querystring: consistency,
  response: {
    200: { description: "The total", type: "integer" },
    400: badQuery,
    500: refused,
    503: unreadable,
  },
};

export const totalSchema = {
  operationId: "getTotal",
  tags: [TOTALS_TAG.name],
  description:
    "The running total as an exact decimal string, the number of events applied, when it last changed, " +
    "and which database answered with how far behind the leader it was.",
  summary: "The running total and where it was read",
  querystring: consistency,
  response: {
    200: {
      description: "The total",
      type: "object",
      required: ["total", "events_applied", "updated_at", "source", "replica_lag_seconds"],
      additionalProperties: false,
      properties: {
        total: { type: "string", pattern: "^-?[0-9]+$", description: "Exact decimal" },
        events_applied: { type: "integer", minimum: 0 },
        updated_at: { type: ["string", "null"], format: "date-time" },
        source: { type: "string", enum: ["replica", "leader"] },
        replica_lag_seconds: { type: ["number", "null"], description: "null when the leader answered" },
      },
    },
    400: badQuery,
    500: refused,
    503: unreadable,
  },
};

export const eventSchema = {
  operationId: "getEvent",
  tags: [EVENTS_TAG.name],
  description:
    "The event (event_id of POST /sum on Service A) with its result and when it was applied; 404 while " +
    "not applied yet, or once pruned after SERVICE_B_PROCESSED_RETENTION_DAYS.",
  summary: "Whether one event is in the total",
  params: {
    type: "object",
    required: ["id"],
    properties: {
      id: {
        type: "string",
        pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        description: "The event id (event_id of POST /sum), a lowercase UUID",
      },
    },
  },
  querystring: consistency,
  response: {
    200: {
      description: "The event is in the total",
      type: "object",
      required: ["event_id", "result", "applied_at"],
      additionalProperties: false,
      properties: {
        event_id: { type: "string", format: "uuid" },
        result: { type: "integer" },
        applied_at: { type: "string", format: "date-time" },
      },
    },
    400: errorResponse("The id is not a lowercase UUID, or a bad query", "INVALID_ARGUMENT"),
    404: errorResponse("Not applied yet (from the replica: not yet seen), or pruned", "NOT_FOUND"),
    500: refused,
    503: unreadable,
  },
};

export const readyzSchema = readyzSchemaOf(
  "Readiness: consumer joined, leader reachable, no partition stopped at a gap",
);
