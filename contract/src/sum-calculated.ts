// A new payload field goes in SumCalculated, the schema and encode/decode below (the compiler then
// points at Service A's calculate-sum.ts, which gives its value); then `pnpm --filter @sum/contract
// run asyncapi` regenerates docs/asyncapi.yaml, and docs/CONTRACT.md says what it means.
import { z } from "zod";
import { UUID } from "./kafka.js";
import { MAX_MESSAGE_BYTES, MAX_OPERAND } from "./limits.js";

/** A sum Service A committed: what a `user-events` message carries, as the services hold it. */
export interface SumCalculated {
  eventId: string;
  a: number;
  b: number;
  result: number;
  serviceId: string;
  createdAt: Date;
}

/** The event the contract's examples show (docs/asyncapi.yaml); tests build theirs from it. */
export const EXAMPLE_SUM_CALCULATED: SumCalculated = {
  eventId: "01a20b16-59a9-76e1-b032-5ccd84f9cbbb",
  a: 2,
  b: 3,
  result: 5,
  serviceId: "service-a-1",
  createdAt: new Date("2026-11-24T01:05:43.849Z"),
};

const safeInteger = (field: string) =>
  z
    .int({
      error: (issue) =>
        issue.code === "too_big" || issue.code === "too_small"
          ? `${field} is out of range`
          : `${field} is not an integer`,
    })
    .min(-MAX_OPERAND)
    .max(MAX_OPERAND);

const isTimestamp = (text: string) => !Number.isNaN(new Date(text).getTime());
const SUMMED: PropertyKey[] = ["a", "b", "result"];

/**
 * The value of a `user-events` message (JSON). Each message below is a dead letter's reason; fields
 * are judged in this order and the first problem is the one given. Unknown fields are allowed, so a
 * field can be added without breaking a consumer.
 */
export const sumCalculatedPayloadSchema = z
  .looseObject({
    event_id: z
      .string({ error: "event_id is missing or not a UUID" })
      .regex(UUID, { error: "event_id is missing or not a UUID" })
      .meta({ description: "a UUIDv7 from Service A; also the message key and the `id` header" }),
    a: safeInteger("a"),
    b: safeInteger("b"),
    result: safeInteger("result").meta({ description: "a + b, exactly" }),
    service_id: z.string({ error: "service_id is missing" }).min(1, { error: "service_id is missing" }),
    // Written RFC 3339 by Service A; read leniently (anything Date parses).
    created_at: z
      .string({ error: "created_at is missing or not a timestamp" })
      .refine(isTimestamp, { error: "created_at is missing or not a timestamp" })
      .meta({ format: "date-time" }),
  })
  .refine((payload) => BigInt(payload.a) + BigInt(payload.b) === BigInt(payload.result), {
    error: "result is not a+b",
    path: ["result"],
    // Judged even when a later field is wrong, as long as the three numbers are valid.
    when: (check) =>
      check.issues.every((issue) => {
        const field = issue.path?.[0];
        return field !== undefined && !SUMMED.includes(field);
      }),
  })
  .meta({ title: "SumCalculated", description: "one committed sum" });

export type SumCalculatedPayload = z.infer<typeof sumCalculatedPayloadSchema>;

const FIELD_ORDER: PropertyKey[] = Object.keys(sumCalculatedPayloadSchema.shape);
const fieldIndex = (issue: z.core.$ZodIssue) => FIELD_ORDER.indexOf(issue.path[0] ?? "");

/** The JSON value of a `user-events` message. */
export function encodeSumCalculated(event: SumCalculated): string {
  const payload: SumCalculatedPayload = {
    event_id: event.eventId,
    a: event.a,
    b: event.b,
    result: event.result,
    service_id: event.serviceId,
    created_at: event.createdAt.toISOString(),
  };
  return JSON.stringify(payload);
}

export type Decoded = { valid: true; event: SumCalculated } | { valid: false; reason: string };

/**
 * Reads a `user-events` message value; `eventIdHeader` (Debezium's `id`), when present, must be the
 * payload's event_id. A message that is not a valid event gets the reason a dead letter carries.
 */
export function decodeSumCalculated(value: Buffer | null, eventIdHeader: string | undefined): Decoded {
  const invalid = (reason: string): Decoded => ({ valid: false, reason });
  if (value === null) return invalid("the message has no value");
  if (value.length > MAX_MESSAGE_BYTES) return invalid(`the value is larger than ${MAX_MESSAGE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(value.toString("utf8"));
  } catch {
    return invalid("the value is not JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return invalid("the value is not a JSON object");
  const parsed = sumCalculatedPayloadSchema.safeParse(json);
  const [firstIssue] = parsed.success ? [] : parsed.error.issues.sort((x, y) => fieldIndex(x) - fieldIndex(y));
  // The header is judged right after event_id, before the other fields.
  if (firstIssue?.path[0] === "event_id") return invalid(firstIssue.message);
  if (eventIdHeader !== undefined && eventIdHeader !== (json as { event_id: unknown }).event_id) {
    return invalid("the id header does not match event_id");
  }
  if (!parsed.success) return invalid(firstIssue?.message ?? parsed.error.message);
  const payload = parsed.data;
  return {
    valid: true,
    event: {
      eventId: payload.event_id,
      a: payload.a,
      b: payload.b,
      result: payload.result,
      serviceId: payload.service_id,
      createdAt: new Date(payload.created_at),
    },
  };
}
