import { join } from "node:path";
import { httpOk, isAlive, portInUse, readPid, StackError, startDaemon, stopProcess, waitUntil } from "../process.js";
import { paths, REPO_ROOT, type Settings } from "../settings.js";
import type { Component } from "./component.js";

/** One Service A instance, on its own internal HTTP and gRPC ports on 127.0.0.1. */
export class ServiceAInstance implements Component {
  readonly name: string;
  readonly address: string;
  readonly logFile: string;
  private readonly pidFile: string;

  constructor(
    private readonly settings: Settings,
    private readonly ports: { index: number; http: number; grpc: number },
  ) {
    const p = paths(settings);
    this.name = `service-a-${ports.index}`;
    this.address = `127.0.0.1:${ports.http} (gRPC ${ports.grpc})`;
    this.logFile = p.log(this.name);
    this.pidFile = p.pid(this.name);
  }

  async isRunning(): Promise<boolean> {
    return isAlive(await readPid(this.pidFile));
  }

  async isReady(): Promise<boolean> {
    return httpOk(`http://127.0.0.1:${this.ports.http}/readyz`).catch(() => false);
  }

  async start(): Promise<void> {
    for (const port of [this.ports.http, this.ports.grpc]) {
      if (await portInUse(port)) throw new StackError(this.name, `port ${port} is already in use by another process`);
    }
    const db = (user: string, password: string) =>
      `postgresql://${user}:${encodeURIComponent(password)}@127.0.0.1:${this.settings.OUTBOX_DB_PORT}/outbox`;
    await startDaemon({
      command: process.execPath,
      args: [join(REPO_ROOT, "service-a", "dist", "src", "main.js")],
      env: {
        ...process.env,
        SERVICE_ID: this.name,
        HOST: "127.0.0.1",
        HTTP_PORT: String(this.ports.http),
        GRPC_PORT: String(this.ports.grpc),
        DATABASE_URL: db("service_a", this.settings.SERVICE_A_DB_PASSWORD),
        MIGRATION_DATABASE_URL: db("outbox_owner", this.settings.OUTBOX_DB_OWNER_PASSWORD),
      },
      logFile: this.logFile,
      pidFile: this.pidFile,
    });
    await waitUntil(this.name, "/readyz", () => this.isReady(), {
      timeoutMs: 30_000,
      logFile: this.logFile,
      alive: () => this.isRunning(),
    });
  }

  async stop(): Promise<void> {
    await stopProcess(await readPid(this.pidFile), 15_000);
  }
}
