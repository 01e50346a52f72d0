import { EVENT_HEADERS, EXAMPLE_SUM_CALCULATED, encodeSumCalculated, SUM_CALCULATED } from "@sum/contract";
import { Kafka, logLevel, type Producer } from "kafkajs";

export interface EventRecord {
  /** Where to write it; by default, by its key. */
  partition?: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** A contract-shaped event; `poison` bends it the way a bad producer would. */
export function sumEvent(
  a: number,
  b: number,
  eventId: string = crypto.randomUUID(),
  createdAt = new Date(),
): EventRecord {
  const value = encodeSumCalculated({
    ...EXAMPLE_SUM_CALCULATED,
    eventId,
    a,
    b,
    result: a + b,
    serviceId: "test",
    createdAt,
  });
  return {
    key: eventId,
    value,
    headers: { [EVENT_HEADERS.eventId]: eventId, [EVENT_HEADERS.eventType]: SUM_CALCULATED },
  };
}

export async function produce(brokers: string[], topic: string, events: EventRecord[]): Promise<void> {
  const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
  const producer: Producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < events.length; i += 1000) {
    await producer.send({ topic, messages: events.slice(i, i + 1000) });
  }
  await producer.disconnect();
}

export const uniqueNames = (prefix: string) => {
  const suffix = Math.random().toString(36).slice(2, 8);
  return { topic: `${prefix}-${suffix}`, dlq: `${prefix}-${suffix}.dlq`, group: `service-b-${prefix}-${suffix}` };
};
