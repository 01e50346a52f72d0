/** A message as it came off the topic, independent of the Kafka client. */
export interface IncomingMessage {
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer | string | undefined>;
}

/** A valid SumCalculated event: the only thing that may change the total. */
export interface SumEvent {
  eventId: string;
  a: number;
  b: number;
  result: number;
  serviceId: string;
  createdAt: Date;
  traceparent: string | undefined;
}

export type Parsed = { kind: "valid"; event: SumEvent } | { kind: "poison"; reason: string };

export const MAX_EVENT_BYTES = 16 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function header(message: IncomingMessage, name: string): string | undefined {
  const value = message.headers[name];
  return value === undefined ? undefined : value.toString();
}

function safeInteger(payload: Record<string, unknown>, field: string): number | string {
  const value = payload[field];
  if (typeof value !== "number" || !Number.isInteger(value)) return `${field} is not an integer`;
  if (!Number.isSafeInteger(value)) return `${field} is out of range`;
  return value;
}

/**
 * Checks a message against the contract's event format. Anything else is poison: it goes to the
 * dead-letter topic with the reason, and never touches the total.
 */
export function parseSumEvent(message: IncomingMessage): Parsed {
  const poison = (reason: string): Parsed => ({ kind: "poison", reason });
  if (message.value === null) return poison("the message has no value");
  if (message.value.length > MAX_EVENT_BYTES) return poison(`the value is larger than ${MAX_EVENT_BYTES} bytes`);
  let payload: unknown;
  try {
    payload = JSON.parse(message.value.toString("utf8"));
  } catch {
    return poison("the value is not JSON");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return poison("the value is not a JSON object");
  }
  const fields = payload as Record<string, unknown>;
  const eventId = fields.event_id;
  if (typeof eventId !== "string" || !UUID.test(eventId)) return poison("event_id is missing or not a UUID");
  const idHeader = header(message, "id");
  if (idHeader !== undefined && idHeader !== eventId) return poison("the id header does not match event_id");
  const a = safeInteger(fields, "a");
  if (typeof a === "string") return poison(a);
  const b = safeInteger(fields, "b");
  if (typeof b === "string") return poison(b);
  const result = safeInteger(fields, "result");
  if (typeof result === "string") return poison(result);
  if (BigInt(a) + BigInt(b) !== BigInt(result)) return poison("result is not a+b");
  if (typeof fields.service_id !== "string" || fields.service_id === "") return poison("service_id is missing");
  const createdAt = typeof fields.created_at === "string" ? new Date(fields.created_at) : undefined;
  if (!createdAt || Number.isNaN(createdAt.getTime())) return poison("created_at is missing or not a timestamp");
  return {
    kind: "valid",
    event: {
      eventId,
      a,
      b,
      result,
      serviceId: fields.service_id,
      createdAt,
      traceparent: header(message, "traceparent"),
    },
  };
}

/** Whether a W3C traceparent asks to be recorded (its flags' bit 0). */
export function isSampled(traceparent: string | undefined): boolean {
  const flags =
    traceparent === undefined ? undefined : /^00-[0-9a-f]{32}-[0-9a-f]{16}-([0-9a-f]{2})$/.exec(traceparent)?.[1];
  return flags !== undefined && (Number.parseInt(flags, 16) & 1) === 1;
}
