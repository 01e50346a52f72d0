import { waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { uniqueNames } from "../support/events.js";
import { createTopics, type Databases, startDatabases } from "../support/harness.js";
import { emptyRecords, gzipBatch, produceBatch } from "../support/record-batches.js";
import { ServiceBProcess, serviceEnv } from "../support/service-b-process.js";

const brokers = inject("kafkaBrokers");
const MiB = 1024 * 1024;
/** The memory limit of Service B's pod (deploy/helm/sum-pipeline/values.yaml). */
const POD_MEMORY_LIMIT = 384 * MiB;
/** Node gives V8 a heap of 259 MiB in a 384 MiB container (211 MiB of it old space): Service B gets the same here. */
const HEAP_AS_IN_THE_POD = { NODE_OPTIONS: "--max-old-space-size=211" };
let databases: Databases;

beforeAll(async () => {
  databases = await startDatabases();
});

afterAll(async () => {
  await databases?.destroy();
});

/** On each of the topic's 6 partitions, `batches` gzip batches of `records` empty records each. */
async function produceEmptyRecordBatches(topic: string, batches: number, records: number): Promise<void> {
  const batch = gzipBatch(emptyRecords(records), records);
  for (let partition = 0; partition < 6; partition++) {
    for (let i = 0; i < batches; i++) await produceBatch(brokers[0] as string, topic, partition, batch);
  }
}

it("a gzip batch of 400,000 empty records (559 KB) on every partition is refused by its count before it is decoded: Service B stays within its pod's memory and says why", async () => {
  const names = uniqueNames("record-count");
  await createTopics(brokers, names);
  await produceEmptyRecordBatches(names.topic, 1, 400_000);

  const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names, HEAP_AS_IN_THE_POD), {
    ready: false,
  });
  try {
    let reason = "";
    await waitFor("Service B says which limit refused a batch", async () => {
      const response = await fetch(`${service.url}/readyz`);
      reason = await response.text();
      return response.status === 503 && reason.includes("MAX_BATCH_RECORDS");
    });
    expect(reason).toContain("a gzip record batch holds 400000 records and record headers, more than the 100000");
    expect(service.hasEnded(), "Service B ended").toBe(false);
    expect(service.peakRss()).toBeLessThan(POD_MEMORY_LIMIT);
  } finally {
    await service.stop();
  }
});

it("batches within the limits alone but far past them together (1.8 million empty records) are decoded a fetch's worth at a time: Service B dead-letters them within its pod's memory", async () => {
  const names = uniqueNames("fetch-limits");
  await createTopics(brokers, names);
  await produceEmptyRecordBatches(names.topic, 3, 100_000);
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();

  const service = await ServiceBProcess.start(serviceEnv(databases, brokers, names, HEAP_AS_IN_THE_POD));
  try {
    await waitFor("three fetches' worth of records dead-lettered, or Service B ended", async () => {
      const [dlq] = await admin.fetchTopicOffsets(names.dlq);
      return service.hasEnded() || Number(dlq?.high) >= 300_000;
    });
    expect(service.hasEnded(), "Service B ended").toBe(false);
    expect(service.peakRss()).toBeLessThan(POD_MEMORY_LIMIT);
  } finally {
    await service.stop();
    await admin.disconnect();
  }
});
