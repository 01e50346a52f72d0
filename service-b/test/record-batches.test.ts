import { Kafka, logLevel } from "kafkajs";
import { expect, inject, it } from "vitest";
import { uniqueNames } from "../support/events.js";
import { emptyRecords, gzipBatch, produceBatch } from "../support/record-batches.js";

const brokers = inject("kafkaBrokers");

it("a raw batch written the moment its topic is created, before the broker leads its partitions, is written once on each", async () => {
  const { topic } = uniqueNames("raw-batch");
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // No wait for leaders: the first writes meet a broker that does not lead the partitions yet.
    await admin.createTopics({ topics: [{ topic, numPartitions: 6, replicationFactor: 1 }], waitForLeaders: false });
    const batch = gzipBatch(emptyRecords(3), 3);
    await Promise.all(
      Array.from({ length: 6 }, (_, partition) => produceBatch(brokers[0] as string, topic, partition, batch)),
    );
    const offsets = await admin.fetchTopicOffsets(topic);
    expect(offsets.sort((x, y) => x.partition - y.partition).map((o) => Number(o.high))).toEqual([3, 3, 3, 3, 3, 3]);
  } finally {
    await admin.disconnect();
  }
});
