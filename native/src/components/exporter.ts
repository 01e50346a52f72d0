import { httpOk, isAlive, readPid, requireFreePorts, startDaemon, stopProcess, waitUntil } from "../process.js";
import { paths, type Settings } from "../settings.js";
import type { Component } from "./component.js";

/** A Prometheus exporter from Debian's packages, ready once its /metrics answers. */
export class Exporter implements Component {
  readonly address: string;
  readonly logFile: string;
  readonly ports: number[];
  private readonly pidFile: string;

  constructor(
    settings: Settings,
    readonly name: string,
    port: number,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
  ) {
    const p = paths(settings);
    this.address = `http://127.0.0.1:${port}/metrics`;
    this.ports = [port];
    this.logFile = p.log(name);
    this.pidFile = p.pid(name);
  }

  async isRunning(): Promise<boolean> {
    return isAlive(readPid(this.pidFile));
  }

  async isReady(): Promise<boolean> {
    return httpOk(this.address).catch(() => false);
  }

  async start(): Promise<void> {
    await requireFreePorts(this.name, this.ports);
    await startDaemon({
      command: this.command,
      args: this.args,
      env: { ...process.env, ...this.env },
      logFile: this.logFile,
      pidFile: this.pidFile,
    });
    await waitUntil(this.name, "/metrics", () => this.isReady(), {
      timeoutMs: 20_000,
      logFile: this.logFile,
      alive: () => this.isRunning(),
    });
  }

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, 10_000);
  }
}
