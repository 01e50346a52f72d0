import { createTopicsAndWait } from "@sum/runtime";
import { SQL_FILES, TemporaryPostgres } from "@sum/test-support";
import { Kafka, logLevel } from "kafkajs";
import { PASSWORDS } from "./service-b-process.js";

export interface Databases {
  leader: TemporaryPostgres;
  replica: TemporaryPostgres;
  destroy(): Promise<void>;
}

/** A real leader, set up as the stack sets it up, and its streaming replica through a capped slot. */
export async function startDatabases(): Promise<Databases> {
  const leader = await TemporaryPostgres.start({
    settings: ["max_wal_senders = 10", "max_slot_wal_keep_size = '2GB'"],
  });
  await leader.psqlFile(SQL_FILES.totalsDatabase, {
    owner_password: PASSWORDS.owner,
    service_password: PASSWORDS.service,
    reconciler_password: PASSWORDS.reconciler,
  });
  const replica = await leader.startReplica();
  return {
    leader,
    replica,
    async destroy() {
      await replica.destroy();
      await leader.destroy();
    },
  };
}

/**
 * The test's own topic (6 partitions, as user-events; with `max.message.bytes` if asked) and its
 * dead-letter topic (with a lower `max.message.bytes` if asked; both with the broker compressing every batch with `compression`, if
 * asked); resolves once every partition has a leader.
 */
export async function createTopics(
  brokers: string[],
  names: { topic: string; dlq: string },
  {
    dlqMaxMessageBytes,
    compression,
    maxMessageBytes,
  }: { dlqMaxMessageBytes?: number; compression?: string; maxMessageBytes?: number } = {},
): Promise<void> {
  const compressed = compression === undefined ? [] : [{ name: "compression.type", value: compression }];
  const sized = maxMessageBytes === undefined ? [] : [{ name: "max.message.bytes", value: String(maxMessageBytes) }];
  const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await createTopicsAndWait(admin, [
      { topic: names.topic, numPartitions: 6, replicationFactor: 1, configEntries: [...compressed, ...sized] },
      {
        topic: names.dlq,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [
          ...compressed,
          ...(dlqMaxMessageBytes === undefined
            ? []
            : [{ name: "max.message.bytes", value: String(dlqMaxMessageBytes) }]),
        ],
      },
    ]);
  } finally {
    await admin.disconnect();
  }
}
