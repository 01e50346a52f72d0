import { decodeSumCalculated, EVENT_HEADERS, type SumCalculated } from "@sum/contract";

/** A message as it came off the topic, independent of the Kafka client. */
export interface IncomingMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
}

/** A valid SumCalculated event: the only thing that may change the total. */
export interface SumEvent extends SumCalculated {
  traceparent: string | undefined;
}

export type Parsed = { kind: "valid"; event: SumEvent } | { kind: "poison"; reason: string };

function header(message: IncomingMessage, name: string): string | undefined {
  const value = message.headers[name];
  return value === undefined ? undefined : value.toString();
}

/**
 * Checks a message against the contract's event format. Anything else is poison: it goes to the
 * dead-letter topic with the reason, and never touches the total.
 */
export function parseSumEvent(message: IncomingMessage): Parsed {
  const decoded = decodeSumCalculated(message.value, header(message, EVENT_HEADERS.eventId));
  if (!decoded.valid) return { kind: "poison", reason: decoded.reason };
  return { kind: "valid", event: { ...decoded.event, traceparent: traceparentOfMessage(message) } };
}

/** The W3C traceparent Service A stored with the event, as Debezium put it in a header. */
export function traceparentOfMessage(message: IncomingMessage): string | undefined {
  return header(message, EVENT_HEADERS.traceparent);
}
