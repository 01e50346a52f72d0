import type { KafkaSasl } from "@sum/service-kit";
import { type Admin, Kafka, logLevel } from "kafkajs";
import type { PartitionLog } from "../domain/delivery-horizon.js";

/** Where each partition's log of the events topic starts and ends; read-only (describe). */
export interface KafkaLogs {
  read(): Promise<Map<number, PartitionLog>>;
  close(): Promise<void>;
}

export function kafkaLogs(brokers: string[], topic: string, clientId: string, sasl: KafkaSasl | undefined): KafkaLogs {
  const kafka = new Kafka({
    clientId,
    brokers,
    sasl,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 1 },
  });
  let admin: Admin | undefined;
  return {
    async read() {
      if (!admin) {
        admin = kafka.admin();
        await admin.connect();
      }
      try {
        const offsets = await admin.fetchTopicOffsets(topic);
        return new Map(
          offsets.map((p) => [p.partition, { start: BigInt(p.low), end: BigInt(p.high) } satisfies PartitionLog]),
        );
      } catch (error) {
        // A new connection next time: the broker may have been replaced under the same address.
        const stale = admin;
        admin = undefined;
        await stale.disconnect().catch(() => undefined);
        throw error;
      }
    },
    async close() {
      await admin?.disconnect();
    },
  };
}
