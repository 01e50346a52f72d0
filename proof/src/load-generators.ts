/**
 * Closed-loop load from native generators, which cost the machine far less CPU than Node's: wrk for
 * HTTP (with load-tests/wrk-sum.lua), ghz for gRPC. Both end with no request in flight, so every
 * committed sum is counted as acknowledged or failed and the running total can be checked exactly.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ensureGoTool } from "@sum/native/prerequisites";
import { isRoot, run } from "@sum/native/process";
import { REPO_ROOT } from "@sum/native/settings";
import type { Endpoints } from "./clients.js";
import { type LoadPlan, type LoadResult, runLoad } from "./load.js";

/** Native load generators' paths; a phase whose generator is missing runs from Node. */
export interface LoadGenerators {
  wrk?: string;
  ghz?: string;
}

/**
 * wrk (Debian's package, installed when root) and ghz (built with Go); a missing one is said, and its
 * phases run from Node, which takes CPU the pipeline would otherwise have.
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
    generators.ghz = await ensureGoTool("ghz", log);
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
  failures: Record<string, number>;
  socketErrors: number;
  p50: number;
  p99: number;
  p999: number;
}

/** Closed-loop HTTP load: `concurrency` wrk threads of one connection each, until every thread has its last answer. */
export async function runWrk(wrk: string, endpoints: Endpoints, plan: LoadPlan): Promise<LoadResult> {
  const started = Date.now() / 1000;
  const deadline = started + plan.seconds;
  const child = spawn(
    wrk,
    [
      ...["-t", String(plan.concurrency), "-c", String(plan.concurrency)],
      ...["-d", `${plan.seconds + LAST_ANSWER_GRACE_S}s`, "--timeout", `${LAST_ANSWER_GRACE_S}s`],
      ...["-s", join(REPO_ROOT, "load-tests", "wrk-sum.lua"), `${endpoints.http}/sum`, "--", String(deadline)],
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
    // wrk waits out its -d: once every thread has stopped after an answer, SIGINT makes it report now.
    if (line === "wrk-thread-stopped" && ++stopped === plan.concurrency) child.kill("SIGINT");
    if (line.startsWith("wrk-result ")) summary = JSON.parse(line.slice("wrk-result ".length)) as WrkSummary;
  }
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", resolve);
  });
  if (summary === undefined) throw new Error(`wrk exited (${code}) without its result: ${stderr.trim()}`);

  const failures = { ...summary.failures };
  // Lost with its connection, or in flight on a thread that never stopped: it may have been committed.
  const unanswered = summary.socketErrors + (plan.concurrency - stopped);
  if (unanswered > 0) failures["HTTP no answer"] = unanswered;
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

interface GhzReport {
  count: number;
  total: number;
  statusCodeDistribution?: Record<string, number>;
  errorDistribution?: Record<string, number>;
  latencyDistribution?: Array<{ percentage: number; latency: number }> | null;
}

/** The same sum on every call (ghz sends one message): each acknowledged answer adds 1 + 2. */
const GHZ_A = 1;
const GHZ_B = 2;

/** Closed-loop gRPC load: `concurrency` ghz workers on one HTTP/2 connection, as a grpc-js client has; waits for every answer. */
export async function runGhz(ghz: string, endpoints: Endpoints, plan: LoadPlan): Promise<LoadResult> {
  const args = [
    "--insecure",
    ...["--proto", join(REPO_ROOT, "proto", "summation.proto")],
    ...["--call", "summation.SummationService/CalculateSum"],
    ...["-d", JSON.stringify({ a: GHZ_A, b: GHZ_B })],
    ...["-c", String(plan.concurrency), "-z", `${plan.seconds}s`, "--duration-stop", "wait"],
    ...["--timeout", `${LAST_ANSWER_GRACE_S}s`, "--format", "json", "--skipFirst", "0"],
    endpoints.grpc,
  ];
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(ghz, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once("error", reject);
    // ghz exits 1 when any call failed; its report says which, so only a missing report is an error.
    child.once("exit", (code) =>
      stdout.trim().startsWith("{") ? resolve(stdout) : reject(new Error(`ghz exited (${code}): ${stderr.trim()}`)),
    );
  });
  const report = JSON.parse(output) as GhzReport;
  const acked = report.statusCodeDistribution?.OK ?? 0;
  const failures: Record<string, number> = {};
  for (const [status, count] of Object.entries(report.statusCodeDistribution ?? {})) {
    if (status !== "OK") failures[`gRPC ${status}`] = count;
  }
  const latency = (percentage: number) =>
    (report.latencyDistribution?.find((entry) => entry.percentage === percentage)?.latency ?? Number.NaN) / 1e6;
  return {
    ...plan,
    acked,
    failed: report.count - acked,
    failures,
    // ghz does not show answers; a wrong result still fails the bench, whose total would not grow by ackedSum.
    wrong: 0,
    ackedSum: BigInt(acked * (GHZ_A + GHZ_B)),
    perSecond: acked / (report.total / 1e9),
    p50: latency(50),
    p99: latency(99),
    p999: latency(99.9),
  };
}

/** Closed loops from wrk or ghz when present; open loops (latency from the intended send time) from Node. */
export function loadRunner(generators: LoadGenerators, endpoints: Endpoints, plan: LoadPlan) {
  const { wrk, ghz } = generators;
  if (plan.rate === undefined && plan.transport === "http" && wrk !== undefined)
    return { generator: "wrk" as const, run: () => runWrk(wrk, endpoints, plan) };
  if (plan.rate === undefined && plan.transport === "grpc" && ghz !== undefined)
    return { generator: "ghz" as const, run: () => runGhz(ghz, endpoints, plan) };
  return { generator: "node" as const, run: () => runLoad(endpoints, plan) };
}
