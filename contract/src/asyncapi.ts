import { stringify } from "yaml";
import { z } from "zod";
import {
  DEAD_LETTER_HEADERS,
  DEAD_LETTER_REPLAYED_HEADER,
  DEAD_LETTER_TOPIC,
  deadLetterHeadersSchema,
  deadLetterReplayedHeadersSchema,
  EVENT_HEADERS,
  EVENTS_TOPIC,
  eventHeadersSchema,
  SUM_CALCULATED,
  UUID,
} from "./kafka.js";
import { EXAMPLE_SUM_CALCULATED, encodeSumCalculated, sumCalculatedPayloadSchema } from "./sum-calculated.js";

/** Where the document is committed, from the repository's root. */
export const ASYNCAPI_PATH = "docs/asyncapi.yaml";

/** A JSON Schema (draft-07, which AsyncAPI's own schema format extends) of what a producer may write. */
function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-07", io: "input" });
  return rest;
}

const KAFKA_BINDING_VERSION = "0.5.0";

const exampleHeaders = {
  [EVENT_HEADERS.eventId]: EXAMPLE_SUM_CALCULATED.eventId,
  [EVENT_HEADERS.eventType]: SUM_CALCULATED,
  [EVENT_HEADERS.traceparent]: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
};

/** An operation on one of the document's channels, with one of its messages. */
function operation(action: "send" | "receive", summary: string, channel: string, message: string) {
  return {
    action,
    summary,
    channel: { $ref: `#/channels/${channel}` },
    messages: [{ $ref: `#/channels/${channel}/messages/${message}` }],
  };
}

/** The AsyncAPI 3.0 document of the topics, built from the contract's schemas. */
export function asyncApiDocument() {
  return {
    asyncapi: "3.0.0",
    info: {
      title: "Sum pipeline events",
      version: "1.0.0",
      description:
        "The Kafka topics of the sum pipeline. docs/CONTRACT.md (Events) is the contract in prose: " +
        "delivery is at least once, a consumer deduplicates by event id, no order between events.",
    },
    defaultContentType: "application/json",
    channels: {
      userEvents: {
        address: EVENTS_TOPIC,
        description: "One message per committed sum, keyed by its event id.",
        messages: { sumCalculated: { $ref: "#/components/messages/sumCalculated" } },
      },
      deadLetters: {
        address: DEAD_LETTER_TOPIC,
        description: `Each message of ${EVENTS_TOPIC} that is not a valid event, with why and where from.`,
        messages: {
          deadLetter: { $ref: "#/components/messages/deadLetter" },
          deadLetterReplayed: { $ref: "#/components/messages/deadLetterReplayed" },
        },
      },
    },
    operations: {
      relaySumCalculated: operation(
        "send",
        "Debezium relays each sum Service A committed to its outbox.",
        "userEvents",
        "sumCalculated",
      ),
      applySumCalculated: operation(
        "receive",
        "Service B adds each event to the total once.",
        "userEvents",
        "sumCalculated",
      ),
      deadLetter: operation(
        "send",
        "Service B writes each message that is not a valid event, and never applies it.",
        "deadLetters",
        "deadLetter",
      ),
      recordReplay: operation(
        "send",
        "The dead-letter tool records each letter it replayed (after sending its original), and never sends a recorded one again.",
        "deadLetters",
        "deadLetterReplayed",
      ),
    },
    components: {
      messages: {
        sumCalculated: {
          name: SUM_CALCULATED,
          contentType: "application/json",
          headers: jsonSchema(eventHeadersSchema),
          payload: jsonSchema(sumCalculatedPayloadSchema),
          bindings: { kafka: { key: { type: "string", pattern: UUID.source }, bindingVersion: KAFKA_BINDING_VERSION } },
          examples: [
            {
              name: "a sum",
              headers: exampleHeaders,
              payload: JSON.parse(encodeSumCalculated(EXAMPLE_SUM_CALCULATED)),
            },
          ],
        },
        deadLetter: {
          name: "DeadLetter",
          contentType: "application/octet-stream",
          headers: jsonSchema(deadLetterHeadersSchema),
          payload: { description: "The original message's value, byte for byte; cut short on a truncated letter." },
          examples: [
            {
              name: "an event with a wrong result",
              headers: {
                ...exampleHeaders,
                [DEAD_LETTER_HEADERS.reason]: "result is not a+b",
                [DEAD_LETTER_HEADERS.sourceTopic]: EVENTS_TOPIC,
                [DEAD_LETTER_HEADERS.sourcePartition]: "2",
                [DEAD_LETTER_HEADERS.sourceOffset]: "1200",
              },
              payload: JSON.stringify({ ...JSON.parse(encodeSumCalculated(EXAMPLE_SUM_CALCULATED)), result: 6 }),
            },
          ],
        },
        deadLetterReplayed: {
          name: "DeadLetterReplayed",
          headers: jsonSchema(deadLetterReplayedHeadersSchema),
          payload: { type: "null", description: "None: no key and no value." },
          examples: [
            {
              name: "the letter above, replayed",
              headers: {
                [DEAD_LETTER_REPLAYED_HEADER]: "2026-12-06T04:50:00.000Z",
                [DEAD_LETTER_HEADERS.sourceTopic]: EVENTS_TOPIC,
                [DEAD_LETTER_HEADERS.sourcePartition]: "2",
                [DEAD_LETTER_HEADERS.sourceOffset]: "1200",
              },
              payload: null,
            },
          ],
        },
      },
    },
  };
}

/** The document as committed at ASYNCAPI_PATH. */
export function renderAsyncApi(): string {
  const header =
    "# Generated from contract/src/asyncapi.ts by `pnpm --filter @sum/contract run asyncapi`; do not edit.\n";
  return header + stringify(asyncApiDocument(), { lineWidth: 0 });
}
