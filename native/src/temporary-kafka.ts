import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@sum/test-support";
import { Kafka, logLevel } from "kafkajs";
import { createTopicsAndWait, KafkaBroker } from "./components/kafka.js";
import { randomPasswords } from "./passwords.js";
import { loadSettings } from "./settings.js";

/** For tests and benchmarks: a real Kafka broker (the native stack's, from the cached jars) on free ports in a temporary directory. */
export class TemporaryKafka {
  private constructor(
    readonly brokers: string[],
    private readonly broker: KafkaBroker,
    private readonly dir: string,
  ) {}

  static async start(): Promise<TemporaryKafka> {
    const dir = await mkdtemp(join(tmpdir(), "sum-kafka-"));
    // Kafka needs no password, but the settings are whole only with them.
    const settings = loadSettings({
      ...randomPasswords(),
      ...process.env,
      RUN_DIR: dir,
      KAFKA_PORT: String(await freePort()),
      KAFKA_CONTROLLER_PORT: String(await freePort()),
      KAFKA_METRICS_PORT: String(await freePort()),
    });
    for (const sub of ["logs", "pids", "config", "data"]) await mkdir(join(dir, sub), { recursive: true });
    const broker = new KafkaBroker(settings, () => undefined);
    await broker.start();
    return new TemporaryKafka([`127.0.0.1:${settings.KAFKA_PORT}`], broker, dir);
  }

  client(clientId = "test"): Kafka {
    return new Kafka({ clientId, brokers: this.brokers, logLevel: logLevel.NOTHING });
  }

  /** Creates topics with the given partitions (a test uses names of its own). */
  async createTopics(topics: Array<{ topic: string; numPartitions: number }>): Promise<void> {
    const admin = this.client().admin();
    await admin.connect();
    try {
      await createTopicsAndWait(
        admin,
        topics.map((t) => ({ ...t, replicationFactor: 1 })),
      );
    } finally {
      await admin.disconnect();
    }
  }

  async destroy(): Promise<void> {
    await this.broker.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
