import { httpOk } from "../process.js";
import type { Settings } from "../settings.js";
import { DaemonComponent } from "./daemon.js";

/** A Prometheus exporter from Debian's packages, ready once its /metrics answers. */
export class Exporter extends DaemonComponent {
  constructor(
    settings: Settings,
    name: string,
    port: number,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: Record<string, string> = {},
  ) {
    super(settings, { name, address: `http://127.0.0.1:${port}/metrics`, ports: [port], stopTimeoutMs: 10_000 });
  }

  async isReady(): Promise<boolean> {
    return httpOk(this.address).catch(() => false);
  }

  async start(): Promise<void> {
    await this.launch(async () => ({ command: this.command, args: this.args, env: { ...process.env, ...this.env } }), {
      what: "/metrics",
      check: () => this.isReady(),
      timeoutMs: 20_000,
    });
  }
}
