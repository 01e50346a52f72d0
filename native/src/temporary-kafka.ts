import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTopicsAndWait, freePort } from "@sum/runtime";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { KafkaBroker, type ScramListener } from "./components/kafka.js";
import { randomPasswords } from "./passwords.js";
import { loadSettings } from "./settings.js";

// From the module object: Node's ESM loader does not find these among kafkajs's (CommonJS) named exports
// (kafkajs-imports.test.ts).
const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** For tests and benchmarks: a real Kafka broker (the native stack's, from the cached jars) on free ports in a temporary directory. */
export class TemporaryKafka {
  private constructor(
    readonly brokers: string[],
    private readonly broker: KafkaBroker,
    private readonly dir: string,
    /** The SCRAM listener's address, when started with `scramUsers`. */
    readonly scramBrokers: string[],
  ) {}

  /** With `scramUsers` (name: password), also a SCRAM-SHA-512 listener with ACLs (ScramListener). */
  static async start({ scramUsers }: { scramUsers?: Record<string, string> } = {}): Promise<TemporaryKafka> {
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
    const scram: ScramListener | undefined = scramUsers && { port: await freePort(), users: scramUsers };
    const broker = new KafkaBroker(settings, () => undefined, scram);
    await broker.start();
    const scramBrokers = scram ? [`127.0.0.1:${scram.port}`] : [];
    return new TemporaryKafka([`127.0.0.1:${settings.KAFKA_PORT}`], broker, dir, scramBrokers);
  }

  client(clientId = "test"): Kafka {
    return new Kafka({ clientId, brokers: this.brokers, logLevel: logLevel.NOTHING });
  }

  /** A client of the SCRAM listener, logged in as `username`. */
  scramClient(username: string, password: string, clientId = "test"): Kafka {
    return new Kafka({
      clientId,
      brokers: this.scramBrokers,
      sasl: { mechanism: "scram-sha-512", username, password },
      logLevel: logLevel.NOTHING,
    });
  }

  /**
   * Allows `User:<user>` the operations (Kafka's names: Read, Write, Create, Describe, ...) on a
   * resource named literally, and waits until the broker enforces them.
   */
  async allow(user: string, acls: Array<{ resource: { type: AclResource; name: string }; operations: string[] }>) {
    const entries = acls.flatMap(({ resource, operations }) =>
      operations.map((operation) => {
        const operationType = AclOperationTypes[aclOperationName(operation)];
        if (operationType === undefined) throw new Error(`unknown ACL operation ${operation}`);
        return {
          resourceType:
            AclResourceTypes[resource.type === "topic" ? "TOPIC" : resource.type === "group" ? "GROUP" : "CLUSTER"],
          resourceName: resource.type === "cluster" ? "kafka-cluster" : resource.name,
          resourcePatternType: ResourcePatternTypes.LITERAL,
          principal: `User:${user}`,
          host: "*",
          operation: operationType,
          permissionType: AclPermissionTypes.ALLOW,
        };
      }),
    );
    const admin = this.client().admin();
    await admin.connect();
    try {
      await admin.createAcls({ acl: entries });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { resources } = await admin.describeAcls({
          resourceType: AclResourceTypes.ANY,
          resourcePatternType: ResourcePatternTypes.ANY,
          principal: `User:${user}`,
          operation: AclOperationTypes.ANY,
          permissionType: AclPermissionTypes.ANY,
        });
        if (resources.flatMap((resource) => resource.acls).length >= entries.length) return;
        if (Date.now() > deadline) throw new Error(`the broker did not show the ACLs of User:${user} in 30 s`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await admin.disconnect();
    }
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

export type AclResource = "topic" | "group" | "cluster";

/** Kafka's name of an ACL operation (DescribeConfigs) as kafkajs's enum names it (DESCRIBE_CONFIGS). */
function aclOperationName(operation: string): keyof typeof AclOperationTypes {
  return operation.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toUpperCase() as keyof typeof AclOperationTypes;
}
