import type { SumCalculated } from "@sum/contract";
import { AppError } from "@sum/service-kit";
import { newEventId } from "./identifiers.js";
import { parseOperand } from "./operand.js";
import { traceparentFor } from "./trace-context.js";

export interface SumCommand {
  a: unknown;
  b: unknown;
  idempotencyKey?: string | undefined;
  traceparent?: string | undefined;
}

/**
 * The event a valid sum becomes, as Service A writes it: an outbox row (what Kafka carries as
 * SumCalculated) and the idempotency key it claims. Its numbers stay exact bigints until they are
 * written. (Service B's SumEvent is the other shape: the event as it is read from Kafka.)
 */
export interface OutboxEvent extends Omit<SumCalculated, "a" | "b" | "result"> {
  a: bigint;
  b: bigint;
  result: bigint;
  traceparent: string;
  idempotencyKey: string | undefined;
}

/** What an earlier request with the same Idempotency-Key produced. */
export interface OriginalSum {
  eventId: string;
  a: bigint;
  b: bigint;
  serviceId: string;
  createdAt: Date;
}

export type AppendOutcome = { kind: "committed" } | { kind: "key-already-used"; original: OriginalSum };

/** Where events go: durably committed before append() resolves. */
export interface EventLog {
  append(event: OutboxEvent): Promise<AppendOutcome>;
}

export interface SumReceipt {
  eventId: string;
  a: bigint;
  b: bigint;
  result: bigint;
  serviceId: string;
  timestamp: Date;
  replayed: boolean;
}

export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

export function validateIdempotencyKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new AppError("INVALID_ARGUMENT", "idempotency key must be 1 to 255 printable ASCII characters");
  }
  return key;
}

/** Validates a sum, and answers only once its event is committed (or was, for a replayed key). */
export async function calculateSum(
  deps: { events: EventLog; serviceId: string },
  command: SumCommand,
): Promise<SumReceipt> {
  const a = parseOperand("a", command.a);
  const b = parseOperand("b", command.b);
  const result = a + b;
  // The same bound keeps the total's inputs and every client's int64/float64 exact.
  parseOperand("a+b", result);
  const event: OutboxEvent = {
    eventId: newEventId(),
    a,
    b,
    result,
    serviceId: deps.serviceId,
    createdAt: new Date(),
    traceparent: traceparentFor(command.traceparent),
    idempotencyKey: validateIdempotencyKey(command.idempotencyKey),
  };
  const outcome = await deps.events.append(event);
  if (outcome.kind === "committed") {
    return { ...event, timestamp: event.createdAt, replayed: false };
  }
  const { original } = outcome;
  if (original.a !== a || original.b !== b) {
    throw new AppError(
      "IDEMPOTENCY_KEY_REUSED",
      `idempotency key was already used with a different request (a=${original.a}, b=${original.b})`,
    );
  }
  return {
    eventId: original.eventId,
    a,
    b,
    result,
    serviceId: original.serviceId,
    timestamp: original.createdAt,
    replayed: true,
  };
}
