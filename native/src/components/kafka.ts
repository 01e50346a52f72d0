import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TOPICS } from "@sum/contract";
import { createTopicsAndWait } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";
import { ensureDir, run, StackError, waitUntil } from "../process.js";
import { renderFile } from "../render.js";
import { paths, type Settings } from "../settings.js";
import { DaemonComponent, type Launch } from "./daemon.js";
import { ensureJars, JVM_CONFIG_DIR, javaArgs, javaLaunch } from "./jvm.js";

export function kafkaClient(settings: Settings, clientId = "native-stack") {
  return new Kafka({
    clientId,
    brokers: [`127.0.0.1:${settings.KAFKA_PORT}`],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2 },
  });
}

/**
 * A second listener, SASL_PLAINTEXT on `port`, where clients log in with SCRAM-SHA-512 as one of
 * `users` (name: password) and ACLs decide what each may do, as on the chart's brokers. The PLAINTEXT
 * and controller listeners' principal (ANONYMOUS) is a super user, so the broker's own set-up and an
 * administrator on the PLAINTEXT port may do anything, ACLs included.
 */
export interface ScramListener {
  port: number;
  users: Record<string, string>;
}

function scramProperties(settings: Settings, scram: ScramListener): string {
  const listeners = `PLAINTEXT://127.0.0.1:${settings.KAFKA_PORT},CONTROLLER://127.0.0.1:${settings.KAFKA_CONTROLLER_PORT},SCRAM://127.0.0.1:${scram.port}`;
  return [
    "",
    "# A SCRAM-SHA-512 listener, and ACLs (these override the lines above).",
    `listeners=${listeners}`,
    `advertised.listeners=${listeners}`,
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SCRAM:SASL_PLAINTEXT",
    "listener.name.scram.sasl.enabled.mechanisms=SCRAM-SHA-512",
    "listener.name.scram.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users=User:ANONYMOUS",
    "",
  ].join("\n");
}

/** The Kafka broker: one KRaft node that is both broker and controller. */
export class KafkaBroker extends DaemonComponent {
  private readonly dataDir: string;

  constructor(
    private readonly settings: Settings,
    private readonly log: (line: string) => void,
    private readonly scram?: ScramListener,
  ) {
    super(settings, {
      name: "kafka",
      address: `127.0.0.1:${settings.KAFKA_PORT}`,
      ports: [
        settings.KAFKA_PORT,
        settings.KAFKA_CONTROLLER_PORT,
        settings.KAFKA_METRICS_PORT,
        ...(scram ? [scram.port] : []),
      ],
      // A controlled shutdown hands over partitions and flushes logs; it can take a while.
      stopTimeoutMs: 60_000,
    });
    this.dataDir = paths(settings).data("kafka");
  }

  async isReady(): Promise<boolean> {
    const admin = kafkaClient(this.settings).admin();
    try {
      await admin.connect();
      const topics = await admin.fetchTopicMetadata({ topics: TOPICS.map((t) => t.topic) });
      return topics.topics.every((t) => t.partitions.length === TOPICS.find((x) => x.topic === t.name)?.numPartitions);
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async start(): Promise<void> {
    await this.launch(() => this.prepare(), {
      what: "the broker to accept connections",
      check: () => this.brokerAnswers(),
      timeoutMs: 90_000,
    });
    await this.createTopics();
  }

  /** Fetches the jars if missing, renders the broker's configuration, and formats its storage on first start. */
  private async prepare(): Promise<Launch> {
    await ensureJars(this.settings, this.log);
    const p = paths(this.settings);
    const config = join(p.config, "kafka-server.properties");
    await writeFile(
      config,
      (await renderFile(join(JVM_CONFIG_DIR, "kafka-server.properties"), {
        KAFKA_PORT: this.settings.KAFKA_PORT,
        KAFKA_CONTROLLER_PORT: this.settings.KAFKA_CONTROLLER_PORT,
        KAFKA_DATA_DIR: this.dataDir,
      })) + (this.scram ? scramProperties(this.settings, this.scram) : ""),
    );
    if (!existsSync(join(this.dataDir, "meta.properties"))) {
      await ensureDir(this.dataDir);
      const java = (main: string, args: string[]) =>
        javaArgs(this.settings, { heap: "-Xmx256m", logDir: p.logs, logFile: "kafka-storage.log", main, args });
      const clusterId = (await run("java", java("kafka.tools.StorageTool", ["random-uuid"]))).trim();
      // SCRAM credentials are KRaft metadata: written with the first records.
      const scramUsers = Object.entries(this.scram?.users ?? {}).flatMap(([name, password]) => [
        "--add-scram",
        `SCRAM-SHA-512=[name=${name},password=${password}]`,
      ]);
      await run(
        "java",
        java("kafka.tools.StorageTool", ["format", "-t", clusterId, "-c", config, "--standalone", ...scramUsers]),
      ).catch((error: Error) => {
        throw new StackError(this.name, `formatting storage failed: ${error.message}`, p.log("kafka-storage"));
      });
    }
    return javaLaunch(this.settings, {
      name: this.name,
      heap: this.settings.KAFKA_HEAP,
      main: "kafka.Kafka",
      config,
      metricsPort: this.settings.KAFKA_METRICS_PORT,
      rules: "kafka",
    });
  }

  private async brokerAnswers(): Promise<boolean> {
    const admin = kafkaClient(this.settings).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** Creates the topics explicitly (the broker never auto-creates); an existing topic is left as it is. */
  private async createTopics(): Promise<void> {
    const admin = kafkaClient(this.settings).admin();
    try {
      await admin.connect();
      const existing = new Set(await admin.listTopics());
      const missing = TOPICS.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        await createTopicsAndWait(
          admin,
          missing.map((t) => ({ ...t, replicationFactor: 1 })),
        );
      }
    } catch (error) {
      throw new StackError(this.name, `creating topics failed: ${(error as Error).message}`, this.logFile);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
    await waitUntil(this.name, "topics with their partitions", () => this.isReady(), {
      timeoutMs: 30_000,
      logFile: this.logFile,
    });
  }
}
