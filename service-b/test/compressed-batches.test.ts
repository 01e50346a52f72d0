import { waitFor } from "@sum/test-support";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deadLettersCli } from "../support/dead-letters-cli.js";
import { produce, sumEvent, uniqueNames } from "../support/events.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";
import { createTopics, type Databases, startDatabases } from "./harness.js";

const brokers = inject("kafkaBrokers");
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

describe("Service B reads batches compressed with every codec Kafka has", () => {
  // The broker recompresses each batch with its own (Java) codec, as it stores what Connect's
  // producer sends when compression is set on the topic or on the producer.
  it.each(["gzip", "snappy", "lz4", "zstd"])(
    "a topic with compression.type=%s: every event is added once, and a poison message is dead-lettered and listed",
    async (compression) => {
      const names = uniqueNames(`codec-${compression}`);
      await createTopics(brokers, names, { compression });
      const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names));
      try {
        const start = await service.total();
        const events = Array.from({ length: 600 }, (_, i) => sumEvent(i, 1000 - i));
        const poison = { key: "poison", value: "not json {", headers: {}, partition: 2 };
        await produce(brokers, names.topic, [...events.slice(0, 300), poison, ...events.slice(300)]);
        await waitFor(
          "every event applied",
          async () => (await service.total()).events_applied >= start.events_applied + events.length,
        );
        const end = await service.total();
        expect(end.events_applied).toBe(start.events_applied + events.length);
        expect(BigInt(end.total) - BigInt(start.total)).toBe(600n * 1000n);

        const listed = (await deadLettersCli(brokers, names.dlq, "list")).map((line) => JSON.parse(line));
        expect(listed).toMatchObject([{ source: { topic: names.topic, partition: 2 }, value: "not json {" }]);
      } finally {
        await service.stop();
      }
    },
  );
});
