import { waitFor } from "@sum/runtime";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { deadLettersCli } from "../support/dead-letters-cli.js";
import { produce, sumEvent, uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
const MiB = 1024 * 1024;
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

        const listed = (await deadLettersCli(brokers, names, "list")).map((line) => JSON.parse(line));
        expect(listed).toMatchObject([{ source: { topic: names.topic, partition: 2 }, value: "not json {" }]);
      } finally {
        await service.stop();
      }
    },
  );
});

it("a batch that would decompress past MAX_DECOMPRESSED_BATCH_BYTES is refused: Service B stays up and says why; with the limit raised, every event is added once and the oversized poison dead-lettered", async () => {
  const names = uniqueNames("codec-limit");
  await createTopics(brokers, names, { compression: "zstd", maxMessageBytes: 32 * MiB });
  // 16 MiB of one digit: the broker's zstd makes it a few kilobytes, which claim 16 MiB.
  const poison = { key: "large", value: "7".repeat(16 * MiB), headers: {}, partition: 0 };
  const before = Array.from({ length: 300 }, (_, i) => sumEvent(i, 1));
  const after = Array.from({ length: 300 }, (_, i) => sumEvent(i, 2));
  await produce(brokers, names.topic, before);
  await produce(brokers, names.topic, [poison]);
  await produce(brokers, names.topic, after);

  const limited = await ServiceBProcess.start(
    serviceEnv(databases, brokers, names, { MAX_DECOMPRESSED_BATCH_BYTES: String(8 * MiB) }),
    { ready: false },
  );
  let start: Awaited<ReturnType<ServiceBProcess["total"]>>;
  try {
    start = await limited.total();
    let reason = "";
    await waitFor("Service B says which limit refused a batch", async () => {
      const response = await fetch(`${limited.url}/readyz`);
      reason = await response.text();
      return response.status === 503 && reason.includes("MAX_DECOMPRESSED_BATCH_BYTES");
    });
    expect(reason).toContain("a zstd record batch would decompress to up to");
    expect(limited.child.exitCode, "still running").toBeNull();
    expect((await limited.total()).events_applied).toBeLessThan(start.events_applied + 600);
  } finally {
    await limited.stop();
  }

  const raised = await ServiceBProcess.start(
    serviceEnv(databases, brokers, names, { MAX_DECOMPRESSED_BATCH_BYTES: String(64 * MiB) }),
  );
  try {
    await waitFor(
      "every event applied",
      async () => (await raised.total()).events_applied >= start.events_applied + 600,
    );
    const end = await raised.total();
    expect(end.events_applied).toBe(start.events_applied + 600);
    expect(BigInt(end.total) - BigInt(start.total)).toBe(BigInt(2 * 300 * 299) / 2n + 300n + 600n);
    const listed = (await deadLettersCli(brokers, names, "list")).map((line) => JSON.parse(line));
    expect(listed).toMatchObject([{ source: { topic: names.topic, partition: 0 }, original_size: 16 * MiB }]);
  } finally {
    await raised.stop();
  }
});
