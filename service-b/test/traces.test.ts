import { EVENT_HEADERS } from "@sum/contract";
import { waitFor } from "@sum/runtime";
import { otlpReceiver } from "@sum/test-support";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

const hex = (bytes: number) => Buffer.from(crypto.getRandomValues(new Uint8Array(bytes))).toString("hex");
const traceparent = (flags: string) => {
  const [traceId, spanId] = [hex(16), hex(8)];
  return { traceId, spanId, header: `00-${traceId}-${spanId}-${flags}` };
};

it("exports a span per sampled event, child of its stored traceparent, and one per dead letter; none for an unsampled event", async () => {
  const names = uniqueNames("traces");
  await createTopics(brokers, names);
  const sampled = traceparent("01");
  const unsampled = traceparent("00");
  const poisoned = traceparent("01");
  const withTrace = (record: ReturnType<typeof sumEvent>, header: string) => ({
    ...record,
    headers: { ...record.headers, [EVENT_HEADERS.traceparent]: header },
  });
  await produce(brokers, names.topic, [
    withTrace(sumEvent(1, 2), sampled.header),
    withTrace(sumEvent(3, 4), unsampled.header),
    { key: "poison", value: "not json {", headers: { [EVENT_HEADERS.traceparent]: poisoned.header } },
  ]);
  const receiver = await otlpReceiver();
  const service = await ServiceBProcess.start(
    serviceEnv(databases, brokers, names, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, TRACE_SAMPLE_RATIO: "0" }),
  );
  try {
    await waitFor("both events applied", async () => (await service.total()).events_applied >= 2, 60_000);
    // Spans are sent at least every second, and by the stop at the latest.
    await waitFor(
      "the spans exported",
      () => receiver.holds(sampled.traceId) && receiver.holds(poisoned.traceId),
      30_000,
    );
    // The stored traceparent's span is the parent of the apply span.
    expect(receiver.holds(sampled.spanId)).toBe(true);
    expect(receiver.holds(poisoned.spanId)).toBe(true);
    expect(receiver.holds(unsampled.traceId)).toBe(false);
  } finally {
    await service.stop();
    await receiver.close();
  }
});
