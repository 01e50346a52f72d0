import { randomInt } from "node:crypto";
import { sleep, summationClient } from "@sum/runtime";
import { Pool } from "undici";
import type { Endpoints } from "./clients.js";

/** One phase of load through nginx: a closed loop of `concurrency` callers, or an open loop at `rate`/s. */
export interface LoadPlan {
  transport: "http" | "grpc";
  /** Callers at once; in an open loop, the most requests in flight. */
  concurrency: number;
  seconds: number;
  /** Requests per second offered; absent means each caller sends its next request as soon as it has an answer. */
  rate?: number;
}

export interface LoadResult extends LoadPlan {
  /** Answered 200 / OK: each one a durable event. */
  acked: number;
  /** Answered with an error or not at all. */
  failed: number;
  /** The failed requests by what they got: "HTTP 503 UNAVAILABLE", "HTTP ECONNRESET", "gRPC 14 ...". */
  failures: Record<string, number>;
  /** Acknowledged with a result other than a + b. */
  wrong: number;
  /** The sum of the acknowledged results: what the running total must grow by. */
  ackedSum: bigint;
  /** Acknowledged sums per second over the phase. */
  perSecond: number;
  /** Latency in milliseconds; in an open loop from the moment the request was due, so a slow server is not hidden. */
  p50: number;
  p99: number;
  p999: number;
}

type Outcome = { ok: true; result: bigint } | { ok: false; reason: string };
type Call = (a: number, b: number) => Promise<Outcome>;

/** Small operands keep every a + b exact in a JavaScript number on the way back. */
const operand = () => randomInt(-1_000_000, 1_000_000);

function httpCaller(endpoint: string, connections: number): { call: Call; close: () => Promise<void> } {
  const pool = new Pool(endpoint, { connections, pipelining: 1 });
  return {
    async call(a, b) {
      try {
        const response = await pool.request({
          path: "/sum",
          method: "POST",
          headers: { "content-type": "application/json" },
          body: `{"a":${a},"b":${b}}`,
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
        });
        const body = await response.body.text();
        if (response.statusCode !== 200) {
          const code = /"code":"([A-Z_]+)"/.exec(body)?.[1] ?? "";
          return { ok: false, reason: `HTTP ${response.statusCode} ${code}`.trim() };
        }
        return { ok: true, result: BigInt((JSON.parse(body) as { result: number }).result) };
      } catch (error) {
        return { ok: false, reason: `HTTP ${(error as { code?: string }).code ?? (error as Error).name}` };
      }
    },
    close: () => pool.close(),
  };
}

function grpcCaller(target: string): { call: Call; close: () => Promise<void> } {
  const client = summationClient(target);
  return {
    async call(a, b) {
      const outcome = await client.calculateSum({ a, b });
      return outcome.code === 0 && outcome.reply
        ? { ok: true, result: BigInt(outcome.reply.result) }
        : { ok: false, reason: `gRPC ${outcome.code} ${outcome.details ?? ""}`.trim() };
    },
    close: async () => client.close(),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/**
 * Runs one phase to the end: no request is left without an answer, so every event the pipeline
 * committed is counted as acknowledged or failed, and the total can be checked exactly.
 */
export async function runLoad(endpoints: Endpoints, plan: LoadPlan): Promise<LoadResult> {
  const caller = plan.transport === "http" ? httpCaller(endpoints.http, plan.concurrency) : grpcCaller(endpoints.grpc);
  const latencies: number[] = [];
  let acked = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  let wrong = 0;
  let ackedSum = 0n;

  const send = async (since: number) => {
    const a = operand();
    const b = operand();
    const outcome = await caller.call(a, b);
    if (!outcome.ok) {
      failed += 1;
      failures.set(outcome.reason, (failures.get(outcome.reason) ?? 0) + 1);
      return;
    }
    latencies.push(performance.now() - since);
    acked += 1;
    ackedSum += outcome.result;
    if (outcome.result !== BigInt(a + b)) wrong += 1;
  };

  const started = performance.now();
  const deadline = started + plan.seconds * 1000;
  const { rate } = plan;
  if (rate === undefined) {
    await Promise.all(
      Array.from({ length: plan.concurrency }, async () => {
        while (performance.now() < deadline) await send(performance.now());
      }),
    );
  } else {
    const inFlight = new Set<Promise<void>>();
    let issued = 0;
    for (let now = performance.now(); now < deadline; now = performance.now()) {
      const due = Math.floor(((now - started) / 1000) * rate);
      while (issued < due && inFlight.size < plan.concurrency) {
        const request = send(started + (issued * 1000) / rate).finally(() => inFlight.delete(request));
        inFlight.add(request);
        issued += 1;
      }
      await sleep(1);
    }
    await Promise.all(inFlight);
  }
  const elapsed = (performance.now() - started) / 1000;
  await caller.close();

  const sorted = Float64Array.from(latencies).sort();
  return {
    ...plan,
    acked,
    failed,
    failures: Object.fromEntries(failures),
    wrong,
    ackedSum,
    perSecond: acked / elapsed,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
  };
}
