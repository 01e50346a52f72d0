import { z } from "zod";
import { TRACEPARENT } from "./trace-context.js";

/** The topic of the events (created by set-up, never by the broker). */
export const EVENTS_TOPIC = "user-events";
/** Where Service B puts the messages of EVENTS_TOPIC that are not valid events. */
export const DEAD_LETTER_TOPIC = "user-events.dlq";

/** The topics every stack's set-up creates (native, Docker Compose, the chart), with their partitions. */
export const TOPICS = [
  { topic: EVENTS_TOPIC, numPartitions: 6 },
  { topic: DEAD_LETTER_TOPIC, numPartitions: 1 },
];

/** The outbox's `type` column, which Debezium puts in the `eventType` header. */
export const SUM_CALCULATED = "SumCalculated";

/** The headers of an event, as Debezium's outbox router writes them (debezium/outbox-connector.json). */
export const EVENT_HEADERS = { eventId: "id", eventType: "eventType", traceparent: "traceparent" } as const;

/** The headers Service B adds to a dead letter, beside the original message's own. */
export const DEAD_LETTER_HEADERS = {
  reason: "dlq-reason",
  sourceTopic: "dlq-source-topic",
  sourcePartition: "dlq-source-partition",
  sourceOffset: "dlq-source-offset",
  truncated: "dlq-truncated",
  originalSize: "dlq-original-size",
} as const;

/**
 * On the dead-letter topic every header whose name begins so is the pipeline's: an original message's
 * own header of such a name is kept under DEAD_LETTER_ORIGINAL_PREFIX + its name, so a message can
 * neither forge a dead letter's headers nor lose its own.
 */
export const DEAD_LETTER_HEADER_PREFIX = "dlq-";
export const DEAD_LETTER_ORIGINAL_PREFIX = "dlq-original-header-";
/**
 * The header of the dead-letter tool's record of a replay (no key, no value; the letter's
 * dlq-source-topic, -partition and -offset beside it): the time it was replayed.
 */
export const DEAD_LETTER_REPLAYED_HEADER = "dlq-replayed";

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DECIMAL = /^\d+$/;

export const eventHeadersSchema = z
  .looseObject({
    [EVENT_HEADERS.eventId]: z.string().regex(UUID).meta({ description: "the event id, as in the payload" }),
    [EVENT_HEADERS.eventType]: z.literal(SUM_CALCULATED),
    [EVENT_HEADERS.traceparent]: z
      .string()
      .regex(TRACEPARENT)
      .meta({ description: "the request's W3C trace context, or a new one" }),
  })
  .meta({ title: "SumCalculated headers" });

export const deadLetterHeadersSchema = z
  .looseObject({
    [DEAD_LETTER_HEADERS.reason]: z
      .string()
      .min(1)
      .meta({ description: "why the message is not an event, for a person" }),
    [DEAD_LETTER_HEADERS.sourceTopic]: z.string().min(1),
    [DEAD_LETTER_HEADERS.sourcePartition]: z.string().regex(DECIMAL),
    [DEAD_LETTER_HEADERS.sourceOffset]: z
      .string()
      .regex(DECIMAL)
      .meta({ description: "with the source topic and partition, identifies a letter written twice" }),
    [DEAD_LETTER_HEADERS.truncated]: z
      .literal("true")
      .optional()
      .meta({ description: "present when the broker refused the whole letter as too large" }),
    [DEAD_LETTER_HEADERS.originalSize]: z
      .string()
      .regex(DECIMAL)
      .optional()
      .meta({ description: "the original value's bytes, on a truncated letter" }),
  })
  .meta({
    title: "Dead letter headers",
    description: `the original message's headers, plus these; an original's own header named ${DEAD_LETTER_HEADER_PREFIX}* is kept as ${DEAD_LETTER_ORIGINAL_PREFIX}<its name>`,
  });

export const deadLetterReplayedHeadersSchema = z
  .object({
    [DEAD_LETTER_REPLAYED_HEADER]: z.iso.datetime().meta({ description: "when the letter's original was replayed" }),
    [DEAD_LETTER_HEADERS.sourceTopic]: z.string().min(1),
    [DEAD_LETTER_HEADERS.sourcePartition]: z.string().regex(DECIMAL),
    [DEAD_LETTER_HEADERS.sourceOffset]: z.string().regex(DECIMAL),
  })
  .meta({ title: "Replay record headers", description: "which dead letter was replayed (its source), and when" });
