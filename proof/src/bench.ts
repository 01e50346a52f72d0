import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EVENTS_TOPIC, SUM_CALCULATED } from "@sum/contract";
import { run } from "@sum/native/process";
import { componentPid, type Settings } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";
import { postgresBinDir, sleep } from "@sum/test-support";
import { type Endpoints, PipelineClient } from "./clients.js";
import { cpuSecondsByTree } from "./cpu.js";
import { type LoadPlan, type LoadResult, runLoad } from "./load.js";

export interface BenchOptions {
  /** Closed-loop concurrency levels, each run over HTTP and over gRPC. */
  levels: number[];
  levelSeconds: number;
  /** The fixed rate (requests/s) at which latency, lag and end-to-end latency are measured. */
  rate: number;
  rateSeconds: number;
  /** pgbench client counts for the single-row-commit baseline. */
  pgbenchClients: number[];
  pgbenchSeconds: number;
  log: (line: string) => void;
}

export interface PhaseReport extends Omit<LoadResult, "ackedSum"> {
  name: string;
  /** CPU seconds each component (and the load generator) spent per 1,000 acknowledged requests. */
  cpuPer1000: Record<string, number>;
}

export interface PipelineReport {
  phase: string;
  /** Events Service B applied per second while the phase ran. */
  appliedPerSecond: number;
  maxLag: number;
  /** Consumer lag when the phase ended. */
  endLag: number;
  /** The lag stayed within two seconds' worth of the phase's rate. */
  lagBounded: boolean;
  /** Outbox creation to applied to the total, for the phase's events (Service B's histogram, bucket-interpolated as Prometheus does). */
  endToEndP50Ms: number;
  endToEndP99Ms: number;
}

export interface BenchReport {
  date: string;
  options: Omit<BenchOptions, "log">;
  phases: PhaseReport[];
  pipeline: PipelineReport[];
  pgbench: Array<{ clients: number; tps: number }>;
  /** The best Service A rate over the best pgbench rate, per transport. */
  ratioToPgbench: { http: number; grpc: number };
  correctness: { passed: boolean; acked: number; eventsApplied: number; expectedDelta: string; totalDelta: string };
}

/** Sample values of one metric in Prometheus text format, keyed by their label set. */
function samples(text: string, name: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^(\w+)(\{[^}]*\})? (\S+)/.exec(line);
    if (match?.[1] === name) values.set(match[2] ?? "", Number(match[3]));
  }
  return values;
}

const sum = (values: Map<string, number>) => [...values.values()].reduce((a, b) => a + b, 0);

interface ServiceBSnapshot {
  applied: number;
  lag: number;
  /** Cumulative end-to-end latency bucket counts by upper bound (seconds). */
  buckets: Map<number, number>;
}

async function serviceB(endpoints: Endpoints): Promise<ServiceBSnapshot> {
  const text = await (await fetch(`${endpoints.serviceB}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
  const buckets = new Map<number, number>();
  for (const [labels, value] of samples(text, "service_b_end_to_end_latency_seconds_bucket")) {
    const le = /le="([^"]+)"/.exec(labels)?.[1] ?? "+Inf";
    buckets.set(le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), value);
  }
  return {
    applied: sum(samples(text, "service_b_events_applied_total")),
    lag: sum(samples(text, "service_b_consumer_lag")),
    buckets,
  };
}

/** histogram_quantile over the difference of two snapshots, in milliseconds. */
function quantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total === 0) return Number.NaN;
  const rank = q * total;
  const index = counts.findIndex((count) => count >= rank);
  const upper = bounds[index] as number;
  const lower = index === 0 ? 0 : (bounds[index - 1] as number);
  if (upper === Number.POSITIVE_INFINITY) return lower * 1000;
  const below = index === 0 ? 0 : (counts[index - 1] as number);
  return (lower + ((upper - lower) * (rank - below)) / ((counts[index] as number) - below)) * 1000;
}

function componentPids(settings: Settings): Map<string, number> {
  const pids = new Map<string, number>();
  for (const { name } of buildStack(settings, () => {}).components) {
    const pid = componentPid(settings, name);
    if (pid !== undefined) pids.set(name, pid);
  }
  return pids;
}

/** The CPU the components and this load generator used while `work` ran. */
async function measuringCpu<T>(pids: Map<string, number>, work: () => Promise<T>) {
  const before = cpuSecondsByTree(pids);
  const ownBefore = process.cpuUsage();
  const result = await work();
  const after = cpuSecondsByTree(pids);
  const own = process.cpuUsage(ownBefore);
  const seconds: Record<string, number> = {};
  for (const [name, value] of after) seconds[name] = value - (before.get(name) ?? value);
  seconds["load generator"] = (own.user + own.system) / 1e6;
  return { result, seconds };
}

/**
 * pgbench's single-row INSERT transactions on the outbox database, into a copy of the outbox table
 * (not the outbox itself: Debezium would stream those rows and Service B would count them).
 */
async function pgbench(settings: Settings, clients: number, seconds: number): Promise<number> {
  const bin = postgresBinDir();
  const env = { ...process.env, PGPASSWORD: settings.POSTGRES_SUPERUSER_PASSWORD };
  const connection = ["-h", "127.0.0.1", "-p", String(settings.OUTBOX_DB_PORT), "-U", "postgres"];
  const psql = (sql: string) => run(join(bin, "psql"), [...connection, "-d", "outbox", "-qAt", "-c", sql], { env });
  await psql("DROP TABLE IF EXISTS bench_outbox; CREATE TABLE bench_outbox (LIKE outbox INCLUDING ALL)");
  const dir = await mkdtemp(join(tmpdir(), "pgbench-"));
  try {
    const script = join(dir, "insert.sql");
    await writeFile(
      script,
      `\\set a random(1, 1000000)
INSERT INTO bench_outbox (id, aggregatetype, aggregateid, type, payload)
  VALUES (gen_random_uuid(), '${EVENTS_TOPIC}', 'bench', '${SUM_CALCULATED}', jsonb_build_object('a', :a, 'b', 1, 'result', :a + 1));
`,
    );
    const args = [...connection, "-n", "-c", String(clients), "-j", "2", "-T", String(seconds), "-f", script, "outbox"];
    const output = await run(join(bin, "pgbench"), args, { env });
    const tps = /tps = ([\d.]+)/.exec(output)?.[1];
    if (!tps) throw new Error(`pgbench printed no rate: ${output}`);
    return Number(tps);
  } finally {
    await psql("DROP TABLE bench_outbox");
    await rm(dir, { recursive: true, force: true });
  }
}

function phaseName(plan: LoadPlan): string {
  return plan.rate === undefined ? `${plan.transport} x${plan.concurrency}` : `${plan.transport} @${plan.rate}/s`;
}

/**
 * `make bench`: closed-loop levels over HTTP and gRPC through nginx, then a fixed rate over each
 * with Service B's lag and end-to-end latency watched, then pgbench's baseline on the same outbox
 * database; at the end, the total must have grown by exactly the acknowledged results.
 */
export async function runBench(settings: Settings, endpoints: Endpoints, options: BenchOptions): Promise<BenchReport> {
  const client = new PipelineClient(endpoints);
  const pids = componentPids(settings);
  const phases: PhaseReport[] = [];
  const pipeline: PipelineReport[] = [];
  let expectedDelta = 0n;
  let acked = 0;

  /** One phase from a settled pipeline: the load with its CPU, Service B's lag sampled each second, then the drain. */
  const measure = async (plan: LoadPlan) => {
    const name = phaseName(plan);
    options.log(`${name} for ${plan.seconds} s`);
    await client.settledTotal();
    const before = await serviceB(endpoints);
    let maxLag = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxLag = Math.max(maxLag, (await serviceB(endpoints)).lag);
        await sleep(1000);
      }
    })();
    const { result, seconds } = await measuringCpu(pids, () => runLoad(endpoints, plan));
    sampling = false;
    await sampler;
    const atEnd = await serviceB(endpoints);
    await client.settledTotal();
    const drained = await serviceB(endpoints);

    const { ackedSum, ...figures } = result;
    expectedDelta += ackedSum;
    acked += result.acked;
    const cpuPer1000: Record<string, number> = {};
    for (const [component, cpu] of Object.entries(seconds)) cpuPer1000[component] = (cpu * 1000) / result.acked;
    phases.push({ name, ...figures, cpuPer1000 });
    pipeline.push({
      phase: name,
      appliedPerSecond: (atEnd.applied - before.applied) / plan.seconds,
      maxLag: Math.max(maxLag, atEnd.lag),
      endLag: atEnd.lag,
      lagBounded: Math.max(maxLag, atEnd.lag) <= 2 * result.perSecond,
      endToEndP50Ms: quantileMs(before.buckets, drained.buckets, 0.5),
      endToEndP99Ms: quantileMs(before.buckets, drained.buckets, 0.99),
    });
    if (result.acked === 0) throw new Error(`${name}: nothing was acknowledged`);
  };

  const start = await client.settledTotal();
  try {
    for (const transport of ["http", "grpc"] as const) {
      for (const concurrency of options.levels) {
        await measure({ transport, concurrency, seconds: options.levelSeconds });
      }
    }
    for (const transport of ["http", "grpc"] as const) {
      await measure({ transport, concurrency: 256, seconds: options.rateSeconds, rate: options.rate });
    }
  } finally {
    client.close();
  }

  const pgbenchRates: Array<{ clients: number; tps: number }> = [];
  for (const clients of options.pgbenchClients) {
    options.log(`pgbench -c ${clients} for ${options.pgbenchSeconds} s`);
    pgbenchRates.push({ clients, tps: await pgbench(settings, clients, options.pgbenchSeconds) });
  }
  const bestPgbench = Math.max(...pgbenchRates.map((p) => p.tps));
  const best = (transport: string) =>
    Math.max(...phases.filter((p) => p.transport === transport && p.rate === undefined).map((p) => p.perSecond));

  options.log("waiting for Service B to apply everything");
  const endClient = new PipelineClient(endpoints);
  const end = await endClient.settledTotal();
  endClient.close();
  const totalDelta = end.total - start.total;
  const eventsApplied = end.eventsApplied - start.eventsApplied;
  const { log: _log, ...recorded } = options;
  return {
    date: new Date().toISOString(),
    options: recorded,
    phases,
    pipeline,
    pgbench: pgbenchRates,
    ratioToPgbench: { http: best("http") / bestPgbench, grpc: best("grpc") / bestPgbench },
    correctness: {
      passed: totalDelta === expectedDelta && eventsApplied === acked && phases.every((p) => p.wrong === 0),
      acked,
      eventsApplied,
      expectedDelta: expectedDelta.toString(),
      totalDelta: totalDelta.toString(),
    },
  };
}
