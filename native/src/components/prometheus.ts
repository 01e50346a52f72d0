import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ensureDir,
  httpOk,
  isAlive,
  readPid,
  requireFreePorts,
  startDaemon,
  stopProcess,
  waitUntil,
} from "../process.js";
import { renderFile } from "../render.js";
import { paths, REPO_ROOT, type Settings, serviceAPorts } from "../settings.js";
import type { Component } from "./component.js";

/** Prometheus from prometheus/prometheus.yml, scraping every component of the native stack. */
export class Prometheus implements Component {
  readonly name = "prometheus";
  readonly address: string;
  readonly logFile: string;
  readonly ports: number[];
  private readonly pidFile: string;

  constructor(private readonly settings: Settings) {
    const p = paths(settings);
    this.address = `http://127.0.0.1:${settings.PROMETHEUS_PORT}`;
    this.logFile = p.log("prometheus");
    this.pidFile = p.pid("prometheus");
    this.ports = [settings.PROMETHEUS_PORT];
  }

  async isRunning(): Promise<boolean> {
    return isAlive(readPid(this.pidFile));
  }

  async isReady(): Promise<boolean> {
    return httpOk(`${this.address}/-/ready`).catch(() => false);
  }

  async start(): Promise<void> {
    await requireFreePorts(this.name, this.ports);
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
    await startDaemon({
      command: "prometheus",
      args: [
        `--config.file=${config}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${this.settings.PROMETHEUS_PORT}`,
        "--storage.tsdb.retention.time=7d",
      ],
      logFile: this.logFile,
      pidFile: this.pidFile,
    });
    await waitUntil(this.name, "/-/ready", () => this.isReady(), {
      timeoutMs: 30_000,
      logFile: this.logFile,
      alive: () => this.isRunning(),
    });
  }

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, 15_000);
  }
}
