/**
 * Closed-loop load from native generators, which cost the machine far less CPU than Node's: wrk for
 * HTTP (with load-tests/wrk-sum.lua), load-tests/grpc-sum (Go) for gRPC. Both check every answer
 * against its a + b and end with no request in flight, so every committed sum is counted as
 * acknowledged or failed and the running total can be checked exactly.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { buildGrpcSum } from "@sum/native/prerequisites";
import { isRoot, run } from "@sum/native/process";
import { REPO_ROOT } from "@sum/native/settings";
import type { Endpoints } from "./clients.js";
import { type LoadPlan, type LoadResult, runLoad } from "./load.js";

/** Native load generators' paths; a phase whose generator is missing runs from Node. */
export interface LoadGenerators {
  wrk?: string;
  grpcSum?: string;
}

/**
 * wrk (Debian's package, installed when root) and grpc-sum (built with Go); a missing one is said, and
 * its phases run from Node, which takes CPU the pipeline would otherwise have.
 */
export async function findLoadGenerators(log: (line: string) => void): Promise<LoadGenerators> {
  const generators: LoadGenerators = {};
  const onPath = () => (process.env.PATH ?? "").split(":").find((dir) => existsSync(join(dir, "wrk")));
  if (onPath() === undefined && isRoot()) {
    log("installing wrk (apt)");
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "wrk"], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    }).catch((error: Error) => log(`could not install wrk: ${error.message}`));
  }
  const wrkDir = onPath();
  if (wrkDir === undefined) log("wrk is missing (sudo apt-get install wrk): HTTP load from Node");
  else generators.wrk = join(wrkDir, "wrk");
  try {
    generators.grpcSum = await buildGrpcSum(log);
  } catch (error) {
    log(`${(error as Error).message}\ngRPC load from Node`);
  }
  return generators;
}

/** How long after the phase's end a thread may wait for its last answer: nginx answers every request within 15 s. */
const LAST_ANSWER_GRACE_S = 30;

interface WrkSummary {
  acked: number;
  wrong: number;
  sum: string;
  last: number;
  unanswered: number;
  failures: Record<string, number>;
  socketErrors: number;
  p50: number;
  p99: number;
  p999: number;
}

/**
 * wrk's threads: two at most, each an event loop holding its share of the connections. A thread per
 * connection (256 at x256) cost a fifth of the machine in context switches, CPU the stack should have.
 */
export const wrkThreads = (concurrency: number) => (concurrency % 2 === 0 ? 2 : 1);

/** Closed-loop HTTP load: `concurrency` wrk connections, until every thread has its last answer. */
export async function runWrk(wrk: string, endpoints: Endpoints, plan: LoadPlan): Promise<LoadResult> {
  const started = Date.now() / 1000;
  const deadline = started + plan.seconds;
  const threads = wrkThreads(plan.concurrency);
  const child = spawn(
    wrk,
    [
      ...["-t", String(threads), "-c", String(plan.concurrency)],
      ...["-d", `${plan.seconds + LAST_ANSWER_GRACE_S}s`, "--timeout", `${LAST_ANSWER_GRACE_S}s`],
      ...["-s", join(REPO_ROOT, "load-tests", "wrk-sum.lua"), `${endpoints.http}/sum`],
      ...["--", String(deadline), String(plan.concurrency / threads)],
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stopped = 0;
  let summary: WrkSummary | undefined;
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  for await (const line of createInterface({ input: child.stdout })) {
    // wrk waits out its -d: once every thread has stopped with no sum in flight, SIGINT makes it report now.
    if (line === "wrk-thread-stopped" && ++stopped === threads) child.kill("SIGINT");
    if (line.startsWith("wrk-result ")) summary = JSON.parse(line.slice("wrk-result ".length)) as WrkSummary;
  }
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", resolve);
  });
  if (summary === undefined) throw new Error(`wrk exited (${code}) without its result: ${stderr.trim()}`);

  const failures = { ...summary.failures };
  // Lost with its connection, or still awaited by a thread that never stopped: it may have been committed.
  if (summary.socketErrors > 0) failures["socket error"] = summary.socketErrors;
  if (summary.unanswered > 0) failures["HTTP no answer"] = summary.unanswered;
  return {
    ...plan,
    acked: summary.acked,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    failures,
    wrong: summary.wrong,
    ackedSum: BigInt(summary.sum),
    perSecond: summary.acked / Math.max(summary.last - started, plan.seconds),
    p50: summary.p50,
    p99: summary.p99,
    p999: summary.p999,
  };
}

interface GrpcSumReport {
  acked: number;
  wrong: number;
  sum: string;
  last: number;
  failures: Record<string, number>;
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

/**
 * Closed-loop gRPC load: `concurrency` grpc-sum callers on one HTTP/2 connection, as a grpc-js client
 * has; waits for every answer. `sources`: the local addresses to connect from (127.0.0.2...), one
 * connection from each, the callers spread over them.
 */
export async function runGrpcSum(
  grpcSum: string,
  endpoints: Endpoints,
  plan: LoadPlan,
  sources: string[] = [],
): Promise<LoadResult> {
  const started = Date.now() / 1000;
  const args = [
    ...["-target", endpoints.grpc, "-c", String(plan.concurrency)],
    ...["-deadline", String(started + plan.seconds), "-timeout", `${LAST_ANSWER_GRACE_S}s`],
    ...(sources.length === 0 ? [] : ["-source", sources.join(",")]),
  ];
  const output = await run(grpcSum, args);
  const report = JSON.parse(output) as GrpcSumReport;
  const ms = (value: number | null) => value ?? Number.NaN;
  return {
    ...plan,
    acked: report.acked,
    failed: Object.values(report.failures).reduce((a, b) => a + b, 0),
    failures: report.failures,
    wrong: report.wrong,
    ackedSum: BigInt(report.sum),
    perSecond: report.acked / Math.max(report.last - started, plan.seconds),
    p50: ms(report.p50),
    p99: ms(report.p99),
    p999: ms(report.p999),
  };
}

/**
 * Closed loops from wrk or grpc-sum when present; open loops (latency from the intended send time) from Node.
 * `grpcSources`: grpc-sum's local addresses (see runGrpcSum).
 */
export function loadRunner(generators: LoadGenerators, endpoints: Endpoints, plan: LoadPlan, grpcSources?: string[]) {
  const { wrk, grpcSum } = generators;
  if (plan.rate === undefined && plan.transport === "http" && wrk !== undefined)
    return { generator: "wrk" as const, run: () => runWrk(wrk, endpoints, plan) };
  if (plan.rate === undefined && plan.transport === "grpc" && grpcSum !== undefined)
    return { generator: "grpc-sum" as const, run: () => runGrpcSum(grpcSum, endpoints, plan, grpcSources) };
  return { generator: "node" as const, run: () => runLoad(endpoints, plan) };
}
