import { existsSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { httpOk, run } from "../process.js";
import { renderFile } from "../render.js";
import { paths, REPO_ROOT, type Settings } from "../settings.js";
import { DaemonComponent, type Launch } from "./daemon.js";
import { goOnPath } from "./prerequisites.js";

/** native/jaeger: the go.mod that pins Jaeger (a Go tool), and the configuration the runner renders. */
export const JAEGER_DIR = join(REPO_ROOT, "native", "jaeger");
const JAEGER_MODULE = "github.com/jaegertracing/jaeger";

/** The Jaeger version native/jaeger/go.mod pins: the one definition the binary's name follows. */
export function jaegerVersion(): string {
  const goMod = readFileSync(join(JAEGER_DIR, "go.mod"), "utf8");
  const version = new RegExp(`^\\s*${JAEGER_MODULE.replaceAll(".", "\\.")} (v\\S+)`, "m").exec(goMod)?.[1];
  if (version === undefined) throw new Error(`${JAEGER_DIR}/go.mod requires no ${JAEGER_MODULE}`);
  return version;
}

export function jaegerBinary(settings: Settings): string {
  return join(settings.JAEGER_CACHE_DIR, `jaeger-${jaegerVersion()}`);
}

/**
 * Builds Jaeger from the Go module proxy on first use (minutes of CPU); later starts reuse the binary.
 * Built so, it has no UI assets: its UI is a placeholder page, its query API complete.
 */
export async function ensureJaeger(
  settings: Settings,
  log: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const binary = jaegerBinary(settings);
  if (existsSync(binary)) return binary;
  const go = goOnPath(env);
  if (go === undefined) {
    throw new Error(`Jaeger is not built yet (${binary}) and there is no Go on the PATH to build it: install Go 1.24+`);
  }
  log(`building Jaeger ${jaegerVersion()} (go build, minutes, once) into ${binary}`);
  await run(go, ["build", "-o", binary, `${JAEGER_MODULE}/cmd/jaeger`], { cwd: JAEGER_DIR, env });
  return binary;
}

/** Jaeger with in-memory storage: OTLP from both services in, the query API and UI on 127.0.0.1. */
export class Jaeger extends DaemonComponent {
  constructor(private readonly settings: Settings) {
    super(settings, {
      name: "jaeger",
      address: `http://127.0.0.1:${settings.JAEGER_QUERY_PORT} (OTLP ${settings.JAEGER_OTLP_GRPC_PORT} gRPC, ${settings.JAEGER_OTLP_HTTP_PORT} HTTP)`,
      ports: [
        settings.JAEGER_QUERY_PORT,
        settings.JAEGER_QUERY_GRPC_PORT,
        settings.JAEGER_OTLP_GRPC_PORT,
        settings.JAEGER_OTLP_HTTP_PORT,
      ],
      stopTimeoutMs: 15_000,
    });
  }

  async isReady(): Promise<boolean> {
    return httpOk(`http://127.0.0.1:${this.settings.JAEGER_QUERY_PORT}/api/services`).catch(() => false);
  }

  async start(): Promise<void> {
    await this.launch(() => this.prepare(), { what: "/api/services", check: () => this.isReady(), timeoutMs: 30_000 });
  }

  /** Renders native/jaeger/jaeger.yaml for this stack. */
  private async prepare(): Promise<Launch> {
    const config = join(paths(this.settings).config, "jaeger.yaml");
    await writeFile(
      config,
      await renderFile(join(JAEGER_DIR, "jaeger.yaml"), {
        JAEGER_QUERY_PORT: this.settings.JAEGER_QUERY_PORT,
        JAEGER_QUERY_GRPC_PORT: this.settings.JAEGER_QUERY_GRPC_PORT,
        JAEGER_OTLP_GRPC_PORT: this.settings.JAEGER_OTLP_GRPC_PORT,
        JAEGER_OTLP_HTTP_PORT: this.settings.JAEGER_OTLP_HTTP_PORT,
      }),
    );
    return { command: jaegerBinary(this.settings), args: ["--config", config] };
  }
}
