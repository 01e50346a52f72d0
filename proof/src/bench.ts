import type { Settings } from "@sum/native/settings";
import { type Endpoints, PipelineClient } from "./clients.js";
import type { LoadPlan, LoadResult } from "./load.js";
import { type LoadGenerators, loadRunner } from "./load-generators.js";
import { outboxLedger, pgbench } from "./pgbench.js";
import { componentPids, cpuSecondsByTree } from "./process-resources.js";
import { quantileMs, serviceB, withMaxLag } from "./service-b-metrics.js";
import { runSoak, type SoakReport } from "./soak.js";

/**
 * The loopback addresses grpc-sum calls nginx from, one connection each: nginx holds each client
 * address to 2,000 gRPC calls a second (nginx/nginx.conf), and the pipeline serves more, as many
 * clients would reach it. wrk's HTTP is not held per address.
 */
const CLIENT_ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);

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
  /** The soak at `rate` over HTTP after the other phases; 0 leaves it out. */
  soakSeconds: number;
  /**
   * Load before the first phase, not reported (its sums count in the exact total): a JVM just started
   * (Kafka Connect's Debezium) runs seconds behind until it is compiled, which no phase should measure.
   */
  warmupSeconds: number;
  generators: LoadGenerators;
  log: (line: string) => void;
}

export interface PhaseReport extends Omit<LoadResult, "ackedSum"> {
  name: string;
  /** What sent the load: wrk, grpc-sum, or this Node process. */
  generator: "wrk" | "grpc-sum" | "node";
  /** Through nginx, as users call; or straight to Service A's instances, to show what nginx costs. */
  route: "nginx" | "instances";
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
  options: Omit<BenchOptions, "log" | "generators">;
  phases: PhaseReport[];
  pipeline: PipelineReport[];
  pgbench: Array<{ clients: number; tps: number }>;
  soak?: SoakReport;
  /** The best Service A rate over the best pgbench rate, per transport. */
  ratioToPgbench: { http: number; grpc: number };
  correctness: { passed: boolean; acked: number; eventsApplied: number; expectedDelta: string; totalDelta: string };
  /** The outbox at the end: every event the run (and the stack before it) acknowledged, kept as the ledger. */
  ledger: { events: number; bytes: number };
}

/**
 * The CPU the components and the load generator used while `work` ran: this process's tree, which
 * holds wrk or grpc-sum while they run and counts them once reaped.
 */
async function measuringCpu<T>(pids: Map<string, number>, work: () => Promise<T>) {
  const trees = new Map([...pids, ["load generator", process.pid]]);
  const before = cpuSecondsByTree(trees);
  const result = await work();
  const after = cpuSecondsByTree(trees);
  const seconds: Record<string, number> = {};
  for (const [name, value] of after) seconds[name] = value - (before.get(name) ?? value);
  return { result, seconds };
}

function phaseName(plan: LoadPlan): string {
  return plan.rate === undefined ? `${plan.transport} x${plan.concurrency}` : `${plan.transport} @${plan.rate}/s`;
}

/**
 * `make bench`: closed-loop levels over HTTP and gRPC through nginx (and gRPC's highest level
 * straight to the instances, for comparison), then a fixed rate over each
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
  let soak: SoakReport | undefined;

  /** One phase from a settled pipeline: the load with its CPU, Service B's lag sampled each second, then the drain. */
  const measure = async (plan: LoadPlan, route: PhaseReport["route"] = "nginx") => {
    const name = route === "nginx" ? phaseName(plan) : `${phaseName(plan)} without nginx`;
    options.log(`${name} for ${plan.seconds} s`);
    await client.settledTotal();
    const before = await serviceB(endpoints);
    const target = route === "nginx" ? endpoints : { ...endpoints, grpc: (endpoints.grpcInstances ?? []).join(",") };
    const load = loadRunner(options.generators, target, plan, route === "nginx" ? CLIENT_ADDRESSES : undefined);
    const {
      result: { result, seconds },
      maxLag,
    } = await withMaxLag(endpoints, () => measuringCpu(pids, load.run));
    const atEnd = await serviceB(endpoints);
    await client.settledTotal();
    const drained = await serviceB(endpoints);

    const { ackedSum, ...figures } = result;
    expectedDelta += ackedSum;
    acked += result.acked;
    const cpuPer1000: Record<string, number> = {};
    for (const [component, cpu] of Object.entries(seconds)) cpuPer1000[component] = (cpu * 1000) / result.acked;
    phases.push({ name, generator: load.generator, route, ...figures, cpuPer1000 });
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
    if (options.warmupSeconds > 0) {
      options.log(`warm-up: HTTP x64 for ${options.warmupSeconds} s, not reported`);
      const plan = { transport: "http", concurrency: 64, seconds: options.warmupSeconds } as const;
      const warmup = await loadRunner(options.generators, endpoints, plan).run();
      expectedDelta += warmup.ackedSum;
      acked += warmup.acked;
    }
    for (const transport of ["http", "grpc"] as const) {
      for (const concurrency of options.levels) {
        await measure({ transport, concurrency, seconds: options.levelSeconds });
      }
    }
    // nginx's gRPC proxy sends one call at a time per upstream connection (it does not multiplex
    // them); the same callers on one multiplexed connection per instance show what that costs.
    if (options.generators.grpcSum !== undefined && (endpoints.grpcInstances ?? []).length > 0) {
      const concurrency = Math.max(...options.levels);
      await measure({ transport: "grpc", concurrency, seconds: options.levelSeconds }, "instances");
    }
    for (const transport of ["http", "grpc"] as const) {
      await measure({ transport, concurrency: 256, seconds: options.rateSeconds, rate: options.rate });
    }
    if (options.soakSeconds > 0) {
      options.log(`soak: ${options.rate}/s over HTTP for ${options.soakSeconds} s`);
      await client.settledTotal();
      const soaked = await runSoak(endpoints, pids, { ...options, seconds: options.soakSeconds });
      soak = soaked.report;
      expectedDelta += soaked.ackedSum;
      acked += soak.acked;
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
    Math.max(
      ...phases
        .filter((p) => p.transport === transport && p.rate === undefined && p.route === "nginx")
        .map((p) => p.perSecond),
    );

  options.log("waiting for Service B to apply everything");
  const endClient = new PipelineClient(endpoints);
  const end = await endClient.settledTotal();
  endClient.close();
  const totalDelta = end.total - start.total;
  const eventsApplied = end.eventsApplied - start.eventsApplied;
  const ledger = await outboxLedger(settings);
  const { log: _log, generators: _generators, ...recorded } = options;
  return {
    date: new Date().toISOString(),
    options: recorded,
    phases,
    pipeline,
    pgbench: pgbenchRates,
    ...(soak && { soak }),
    ratioToPgbench: { http: best("http") / bestPgbench, grpc: best("grpc") / bestPgbench },
    correctness: {
      passed:
        totalDelta === expectedDelta &&
        eventsApplied === acked &&
        phases.every((p) => p.wrong === 0) &&
        (soak?.wrong ?? 0) === 0,
      acked,
      eventsApplied,
      expectedDelta: expectedDelta.toString(),
      totalDelta: totalDelta.toString(),
    },
    ledger,
  };
}
