import { execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { type SummationClient, summationClient, waitFor } from "@sum/runtime";
import { loadConfig } from "@sum/service-kit";
import type { TemporaryPostgres } from "@sum/test-support";
import pino from "pino";
import { type Config, configSchema } from "../src/config.js";
import { type RunningService, startService } from "../src/service.js";
import { PASSWORDS } from "../support/outbox-database.js";

export function serviceConfig(
  postgres: TemporaryPostgres,
  overrides: Partial<Record<keyof Config, string>> = {},
): Config {
  return loadConfig("service-a", configSchema, {
    SERVICE_ID: "service-a-test",
    HTTP_PORT: "0",
    GRPC_PORT: "0",
    DATABASE_URL: postgres.url("outbox", "service_a", PASSWORDS.service),
    MIGRATION_DATABASE_URL: postgres.url("outbox", "outbox_owner", PASSWORDS.owner),
    LOG_LEVEL: "silent",
    ...overrides,
  });
}

export interface TestService {
  postgres: TemporaryPostgres;
  service: RunningService;
  config: Config;
  http: string;
  grpc: SummationClient;
  stop(): Promise<void>;
}

export async function startTestService(
  postgres: TemporaryPostgres,
  overrides: Partial<Record<keyof Config, string>> = {},
): Promise<TestService> {
  const config = serviceConfig(postgres, overrides);
  const service = await startService(config, pino({ level: "silent" }));
  const grpcClient = summationClient(`127.0.0.1:${service.grpcPort}`);
  return {
    postgres,
    service,
    config,
    http: `http://127.0.0.1:${service.httpPort}`,
    grpc: grpcClient,
    async stop() {
      grpcClient.close();
      await service.stop();
    },
  };
}

export interface ServiceProcess {
  http: string;
  pid: number;
  /** SIGTERM, as an orchestrator stops it; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Service A as a process of its own, from source. With `clockOffset` (faketime's -f syntax: "-1d",
 * "+1d") its wall clock is moved by libfaketime, as on a VM restored from a snapshot or booted before
 * time sync. It preloads the library Debian's `faketime` names, not `faketime` itself: that runs the
 * program as its child and would not pass a SIGTERM on.
 */
export async function startServiceProcess(
  postgres: TemporaryPostgres,
  { clockOffset }: { clockOffset?: string } = {},
): Promise<ServiceProcess> {
  const name = clockOffset === undefined ? "Service A" : `Service A (clock ${clockOffset})`;
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", join("src", "main.ts")], {
    cwd: join(import.meta.dirname, ".."),
    env: {
      ...process.env,
      ...(clockOffset === undefined ? {} : fakeClock(clockOffset)),
      SERVICE_ID: clockOffset === undefined ? "service-a-process" : `service-a-clock${clockOffset}`,
      HTTP_PORT: "0",
      GRPC_PORT: "0",
      DATABASE_URL: postgres.url("outbox", "service_a", PASSWORDS.service),
      MIGRATION_DATABASE_URL: postgres.url("outbox", "outbox_owner", PASSWORDS.owner),
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // The port it was given, from its "service-a listening" line.
  const httpPort = () => /"httpPort":(\d+)/.exec(output)?.[1];
  const port = await waitFor(
    `${name} to listen or exit`,
    () => child.exitCode !== null || httpPort() !== undefined,
    60_000,
  ).then(httpPort, () => undefined);
  if (port === undefined || child.pid === undefined) {
    child.kill("SIGKILL");
    throw new Error(`${name} did not start (exit code ${child.exitCode}):\n${output}`);
  }
  return {
    http: `http://127.0.0.1:${port}`,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function fakeClock(clockOffset: string): Record<string, string> {
  // -m: the library for multi-threaded programs, as Node is.
  const libfaketime = execFileSync("faketime", ["-m", "-f", clockOffset, "printenv", "LD_PRELOAD"], {
    encoding: "utf8",
  }).trim();
  return {
    LD_PRELOAD: libfaketime,
    FAKETIME: clockOffset,
    // Such a machine's wall clock is wrong, not its monotonic one: timers and deadlines run true.
    FAKETIME_DONT_FAKE_MONOTONIC: "1",
  };
}

/**
 * How many sums an instance has taken in so far: waiting for a batch, in a batch, or refused. A
 * test that holds the outbox locked waits on this, so it knows every request has arrived.
 */
export async function sumsTakenIn(service: RunningService): Promise<number> {
  const { queueWait, queueDepth, refusals } = service.metrics;
  const started = (await queueWait.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
  const queued = (await queueDepth.get()).values[0]?.value ?? 0;
  const refused = (await refusals.get()).values[0]?.value ?? 0;
  return started + queued + refused;
}

/** POSTs a raw body to /sum. */
export async function postSum(
  base: string,
  body: string | undefined,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(`${base}/sum`, { method: "POST", headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}

/**
 * What Debezium will see: a logical replication slot (test_decoding) on the outbox, created before
 * the requests. The events a test reads from it are the ones committed, in commit order.
 */
export class CommittedEvents {
  private constructor(
    private readonly postgres: TemporaryPostgres,
    private readonly slot: string,
  ) {}

  static async watch(postgres: TemporaryPostgres, slot = `test_${Math.random().toString(36).slice(2, 10)}`) {
    await postgres.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [slot], "outbox");
    return new CommittedEvents(postgres, slot);
  }

  /** The outbox rows inserted by committed transactions since the last call. */
  async take(): Promise<Array<{ id: string; payload: Record<string, unknown>; traceparent: string | undefined }>> {
    const rows = await this.postgres.query<{ data: string }>(
      "SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL) WHERE data LIKE 'table public.outbox: INSERT:%'",
      [this.slot],
      "outbox",
    );
    return rows.map(({ data }) => {
      const id = /id\[uuid\]:'([0-9a-f-]+)'/.exec(data)?.[1];
      const payload = /payload\[jsonb\]:'(.*?)'(?: traceparent)/.exec(data)?.[1];
      if (!id || !payload) throw new Error(`unexpected decoding output: ${data}`);
      const traceparent = /traceparent\[text\]:'([^']*)'/.exec(data)?.[1];
      return { id, payload: JSON.parse(payload.replaceAll("''", "'")), traceparent };
    });
  }

  async drop(): Promise<void> {
    await this.postgres.query("SELECT pg_drop_replication_slot($1)", [this.slot], "outbox");
  }
}
