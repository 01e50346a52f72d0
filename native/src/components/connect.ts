import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { httpOk, requireLoopbackOnly, StackError, waitUntil } from "../process.js";
import { renderFile } from "../render.js";
import { paths, REPO_ROOT, type Settings } from "../settings.js";
import { DaemonComponent, type Launch } from "./daemon.js";
import { ensureJars, JVM_CONFIG_DIR, javaLaunch, jvmLayout } from "./jvm.js";

export const CONNECTOR = "outbox-connector";

interface ConnectorStatus {
  connector: { state: string; trace?: string };
  tasks: Array<{ id: number; state: string; trace?: string }>;
}

/** Kafka Connect in distributed mode with the Debezium PostgreSQL plugin; registers the outbox connector. */
export class KafkaConnect extends DaemonComponent {
  private readonly base: string;

  constructor(
    private readonly settings: Settings,
    private readonly log: (line: string) => void,
  ) {
    super(settings, {
      name: "kafka-connect",
      address: `http://127.0.0.1:${settings.CONNECT_PORT}`,
      ports: [settings.CONNECT_PORT, settings.CONNECT_METRICS_PORT],
      stopTimeoutMs: 30_000,
    });
    this.base = this.address;
  }

  async isReady(): Promise<boolean> {
    const status = await this.connectorStatus().catch(() => undefined);
    return (
      status?.connector.state === "RUNNING" &&
      status.tasks.length > 0 &&
      status.tasks.every((t) => t.state === "RUNNING")
    );
  }

  async start(): Promise<void> {
    await this.launch(() => this.prepare(), {
      what: "the REST API",
      check: () => httpOk(`${this.base}/connectors`),
      timeoutMs: 120_000,
    });
    try {
      await this.requireRestOnLoopbackOnly();
    } catch (error) {
      await this.stop();
      throw error;
    }
    await this.registerConnector();
  }

  /** Fetches the jars if missing and renders Connect's worker configuration. */
  private async prepare(): Promise<Launch> {
    await ensureJars(this.settings, this.log);
    const config = join(paths(this.settings).config, "connect-distributed.properties");
    await writeFile(
      config,
      await renderFile(join(JVM_CONFIG_DIR, "connect-distributed.properties"), {
        KAFKA_BOOTSTRAP: `127.0.0.1:${this.settings.KAFKA_PORT}`,
        CONNECT_PORT: this.settings.CONNECT_PORT,
        PLUGIN_PATH: jvmLayout(this.settings).pluginPath,
      }),
    );
    return {
      ...javaLaunch(this.settings, {
        name: this.name,
        heap: this.settings.CONNECT_HEAP,
        main: "org.apache.kafka.connect.cli.ConnectDistributed",
        config,
        metricsPort: this.settings.CONNECT_METRICS_PORT,
        rules: "connect",
      }),
      // The connector's ${env:DEBEZIUM_DB_PASSWORD} is read from here (config.providers in
      // connect-distributed.properties), so the password is never in its config, over REST or stored.
      env: { ...process.env, DEBEZIUM_DB_PASSWORD: this.settings.DEBEZIUM_DB_PASSWORD },
    };
  }

  /** The REST API takes any connector config from whoever reaches it, without a login: loopback only. */
  async requireRestOnLoopbackOnly(): Promise<void> {
    await requireLoopbackOnly(
      this.name,
      "its REST API",
      this.settings.CONNECT_PORT,
      "whoever reaches the host could change or add connectors. Its listeners " +
        "(native/jvm/connect-distributed.properties) must be http://127.0.0.1 only; Kafka Connect stopped",
    );
  }

  async connectorStatus(): Promise<ConnectorStatus | undefined> {
    const response = await fetch(`${this.base}/connectors/${CONNECTOR}/status`, { signal: AbortSignal.timeout(3000) });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET status: ${response.status} ${await response.text()}`);
    return (await response.json()) as ConnectorStatus;
  }

  /**
   * PUTs debezium/outbox-connector.json (idempotent: the same config changes nothing) and waits for the
   * connector and its task to run. A connector that cannot run is removed again, so nothing is left
   * half-registered; its replication slot (and so its position) stays in PostgreSQL.
   */
  async registerConnector(): Promise<void> {
    const body = await renderFile(join(REPO_ROOT, "debezium", "outbox-connector.json"), {
      OUTBOX_DB_HOST: "127.0.0.1",
      OUTBOX_DB_PORT: this.settings.OUTBOX_DB_PORT,
      DEBEZIUM_DB_USER: "debezium",
    });
    const response = await fetch(`${this.base}/connectors/${CONNECTOR}/config`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body,
    });
    if (!response.ok) {
      throw new StackError(
        this.name,
        `registering ${CONNECTOR} failed: ${response.status} ${await response.text()}`,
        this.logFile,
      );
    }
    try {
      await waitUntil(this.name, `${CONNECTOR} and its task to be RUNNING`, () => this.isReady(), {
        timeoutMs: 60_000,
        logFile: this.logFile,
        alive: async () => {
          const status = await this.connectorStatus().catch(() => undefined);
          return !(status?.connector.state === "FAILED" || status?.tasks.some((t) => t.state === "FAILED"));
        },
      });
    } catch (error) {
      const status = await this.connectorStatus().catch(() => undefined);
      await fetch(`${this.base}/connectors/${CONNECTOR}`, { method: "DELETE" }).catch(() => undefined);
      const trace = status?.tasks.find((t) => t.trace)?.trace ?? status?.connector.trace ?? "";
      throw new StackError(
        this.name,
        `${(error as Error).message.split("\n")[0]}; connector removed.\n  ${trace.split("\n").slice(0, 3).join("\n  ")}`,
        this.logFile,
      );
    }
  }
}
