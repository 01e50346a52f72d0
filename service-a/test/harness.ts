import { loadConfig } from "@sum/service-kit";
import { type SummationClient, summationClient, type TemporaryPostgres } from "@sum/test-support";
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
  async take(): Promise<Array<{ id: string; payload: Record<string, unknown> }>> {
    const rows = await this.postgres.query<{ data: string }>(
      "SELECT data FROM pg_logical_slot_get_changes($1, NULL, NULL) WHERE data LIKE 'table public.outbox: INSERT:%'",
      [this.slot],
      "outbox",
    );
    return rows.map(({ data }) => {
      const id = /id\[uuid\]:'([0-9a-f-]+)'/.exec(data)?.[1];
      const payload = /payload\[jsonb\]:'(.*?)'(?: traceparent)/.exec(data)?.[1];
      if (!id || !payload) throw new Error(`unexpected decoding output: ${data}`);
      return { id, payload: JSON.parse(payload.replaceAll("''", "'")) };
    });
  }

  async drop(): Promise<void> {
    await this.postgres.query("SELECT pg_drop_replication_slot($1)", [this.slot], "outbox");
  }
}
