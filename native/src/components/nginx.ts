import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDir, httpOk, run, StackError } from "../process.js";
import { renderFile } from "../render.js";
import { paths, REPO_ROOT, type Settings, serviceAPorts } from "../settings.js";
import { DaemonComponent } from "./daemon.js";

export const NGINX = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx";

/** nginx from nginx/nginx.conf: HTTP round robin and gRPC over the Service A instances. */
export class Nginx extends DaemonComponent {
  constructor(private readonly settings: Settings) {
    super(settings, {
      name: "nginx",
      address: `http://127.0.0.1:${settings.NGINX_HTTP_PORT} , grpc 127.0.0.1:${settings.NGINX_GRPC_PORT}`,
      ports: [settings.NGINX_HTTP_PORT, settings.NGINX_GRPC_PORT, settings.NGINX_STATUS_PORT],
      logFile: join(paths(settings).logs, "nginx", "error.log"),
      stopTimeoutMs: 15_000,
      // SIGQUIT: finish the requests in flight, then exit.
      stopSignal: "SIGQUIT",
    });
  }

  async isReady(): Promise<boolean> {
    return httpOk(`http://127.0.0.1:${this.settings.NGINX_HTTP_PORT}/health`).catch(() => false);
  }

  /** Renders nginx/nginx.conf for this stack; returns the file and nginx's prefix directory. */
  async writeConfig(): Promise<{ config: string; tempDir: string }> {
    const p = paths(this.settings);
    const tempDir = join(p.run, "nginx");
    await ensureDir(tempDir);
    await ensureDir(join(p.logs, "nginx"));
    const instances = serviceAPorts(this.settings);
    const config = join(p.config, "nginx.conf");
    await writeFile(
      config,
      await renderFile(join(REPO_ROOT, "nginx", "nginx.conf"), {
        // nginx's own; the runner's pid file records the same process, and who it is.
        NGINX_PID_FILE: join(tempDir, "nginx.pid"),
        NGINX_LOG_DIR: join(p.logs, "nginx"),
        NGINX_TEMP_DIR: tempDir,
        NGINX_LISTEN_HOST: "127.0.0.1",
        NGINX_HTTP_PORT: this.settings.NGINX_HTTP_PORT,
        NGINX_GRPC_PORT: this.settings.NGINX_GRPC_PORT,
        NGINX_STATUS_LISTEN: `127.0.0.1:${this.settings.NGINX_STATUS_PORT}`,
        SERVICE_A_HTTP_SERVERS: instances.map((i) => `server 127.0.0.1:${i.http} max_fails=0;`).join(" "),
        SERVICE_A_GRPC_SERVERS: instances.map((i) => `server 127.0.0.1:${i.grpc} max_fails=0;`).join(" "),
      }),
    );
    return { config, tempDir };
  }

  async start(): Promise<void> {
    await this.launch(
      async () => {
        const { config, tempDir } = await this.writeConfig();
        await run(NGINX, ["-t", "-q", "-p", tempDir, "-c", config]).catch((error: Error) => {
          throw new StackError(this.name, `invalid configuration: ${error.message}`, this.logFile);
        });
        // nginx runs in the foreground (daemon off): the process started is its master.
        return {
          command: NGINX,
          args: ["-p", tempDir, "-c", config],
          output: join(paths(this.settings).logs, "nginx", "stdout.log"),
        };
      },
      { what: "/health", check: () => this.isReady(), timeoutMs: 20_000 },
    );
  }
}
