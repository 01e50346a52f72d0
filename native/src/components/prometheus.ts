import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDir, httpOk } from "../process.js";
import { renderFile } from "../render.js";
import { paths, REPO_ROOT, type Settings, serviceAPorts } from "../settings.js";
import { DaemonComponent, type Launch } from "./daemon.js";

/** Prometheus from prometheus/prometheus.yml, scraping every component of the native stack. */
export class Prometheus extends DaemonComponent {
  constructor(private readonly settings: Settings) {
    super(settings, {
      name: "prometheus",
      address: `http://127.0.0.1:${settings.PROMETHEUS_PORT}`,
      ports: [settings.PROMETHEUS_PORT],
      stopTimeoutMs: 15_000,
    });
  }

  async isReady(): Promise<boolean> {
    return httpOk(`${this.address}/-/ready`).catch(() => false);
  }

  async start(): Promise<void> {
    await this.launch(() => this.prepare(), { what: "/-/ready", check: () => this.isReady(), timeoutMs: 30_000 });
  }

  /** Renders prometheus/prometheus.yml for this stack and makes its data directory. */
  private async prepare(): Promise<Launch> {
    const p = paths(this.settings);
    const config = join(p.config, "prometheus.yml");
    await writeFile(
      config,
      await renderFile(join(REPO_ROOT, "prometheus", "prometheus.yml"), {
        SERVICE_A_METRICS_TARGETS: JSON.stringify(serviceAPorts(this.settings).map((i) => `127.0.0.1:${i.http}`)),
        SERVICE_B_METRICS_TARGET: `127.0.0.1:${this.settings.SERVICE_B_PORT}`,
        RECONCILER_METRICS_TARGET: `127.0.0.1:${this.settings.RECONCILER_PORT}`,
        PROMETHEUS_TARGET: `127.0.0.1:${this.settings.PROMETHEUS_PORT}`,
        POSTGRES_OUTBOX_EXPORTER_TARGET: `127.0.0.1:${this.settings.POSTGRES_OUTBOX_EXPORTER_PORT}`,
        POSTGRES_LEADER_EXPORTER_TARGET: `127.0.0.1:${this.settings.POSTGRES_LEADER_EXPORTER_PORT}`,
        POSTGRES_REPLICA_EXPORTER_TARGET: `127.0.0.1:${this.settings.POSTGRES_REPLICA_EXPORTER_PORT}`,
        NGINX_EXPORTER_TARGET: `127.0.0.1:${this.settings.NGINX_EXPORTER_PORT}`,
        PROMETHEUS_RULE_FILE: join(REPO_ROOT, "prometheus", "alerts.yml"),
        KAFKA_METRICS_TARGET: `127.0.0.1:${this.settings.KAFKA_METRICS_PORT}`,
        CONNECT_METRICS_TARGET: `127.0.0.1:${this.settings.CONNECT_METRICS_PORT}`,
      }),
    );
    const dataDir = p.data("prometheus");
    await ensureDir(dataDir);
    return {
      command: "prometheus",
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${this.settings.PROMETHEUS_PORT}`,
        "--storage.tsdb.retention.time=7d",
      ],
    };
  }
}
