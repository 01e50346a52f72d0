/**
 * `make bench-cost-attack`: normal load through nginx, first alone, then beside callers that keep
 * sending the costliest 16 KiB requests Service A's request-cost test knows. Prints the normal
 * requests' p99 both ways: if one request could cost far more than its size, the second would
 * balloon. Then the same for gRPC: normal callers (grpc-sum, from 127.0.0.2) alone, then beside an
 * HTTP/2 flood of nginx's gRPC listener from 127.0.0.1 (grpc-flood.ts), with the memory of nginx
 * and Service A before, at most during, and after. Needs a running stack (make start); NGINX_URL
 * points the HTTP part elsewhere.
 */

import { availableParallelism } from "node:os";
import { MAX_MESSAGE_BYTES } from "@sum/contract";
import { loadSettings } from "@sum/native/settings";
import { requestShapes } from "@sum/runtime";
import { z } from "zod";
import { grpcFlood } from "./grpc-flood.js";
import { runLoad } from "./load.js";
import { findLoadGenerators, runGrpcSum } from "./load-generators.js";
import { componentPids, cpuSecondsByTree, memoryMibByTree } from "./process-resources.js";

const settings = loadSettings();
const options = z
  .object({
    NGINX_URL: z.url().default(`http://127.0.0.1:${settings.NGINX_HTTP_PORT}`),
    ATTACKERS: z.coerce.number().int().min(1).default(8),
    LOAD_CONCURRENCY: z.coerce.number().int().min(1).default(32),
    LOAD_SECONDS: z.coerce.number().positive().default(15),
    GRPC_CALLERS: z.coerce.number().int().min(1).default(8),
    FLOOD_CONNECTIONS: z.coerce.number().int().min(1).default(64),
    FLOOD_STREAMS: z.coerce.number().int().min(1).default(256),
    FLOOD_RESET_CONNECTIONS: z.coerce.number().int().min(0).default(4),
  })
  .parse(process.env);

// The load is HTTP only: runLoad reads no other endpoint.
const endpoints = { http: options.NGINX_URL, grpc: "", serviceB: "" };
const plan = { transport: "http", concurrency: options.LOAD_CONCURRENCY, seconds: options.LOAD_SECONDS } as const;
// At the body limit of nginx and Service A: the largest request either lets through.
const attacks = Object.values(requestShapes(MAX_MESSAGE_BYTES).adversarial);

/** One caller sending every adversarial shape in turn until `stopped()`; returns how many it sent. */
async function attacker(stopped: () => boolean): Promise<number> {
  let sent = 0;
  while (!stopped()) {
    const { body, headers = {} } = attacks[sent % attacks.length] as (typeof attacks)[number];
    await fetch(`${options.NGINX_URL}/sum`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(headers.idempotencyKey ? { "idempotency-key": headers.idempotencyKey } : {}),
        ...(headers.traceparent ? { traceparent: headers.traceparent } : {}),
      },
      body,
    })
      .then((response) => response.arrayBuffer())
      .catch(() => undefined);
    sent += 1;
  }
  return sent;
}

console.log(`==> ${options.LOAD_CONCURRENCY} normal callers through ${options.NGINX_URL}, ${options.LOAD_SECONDS} s`);
const alone = await runLoad(endpoints, plan);
console.log(`==> the same, beside ${options.ATTACKERS} callers sending ${attacks.length} adversarial shapes`);
let stopped = false;
const attackers = Array.from({ length: options.ATTACKERS }, () => attacker(() => stopped));
const attacked = await runLoad(endpoints, plan);
stopped = true;
const sent = (await Promise.all(attackers)).reduce((total, n) => total + n, 0);

for (const [name, result] of [
  ["alone", alone],
  ["under attack", attacked],
] as const) {
  console.log(
    `${name.padEnd(12)} p99 ${result.p99.toFixed(1)} ms, p50 ${result.p50.toFixed(1)} ms, ${result.perSecond.toFixed(0)}/s, ${result.failed} failed`,
  );
}
console.log(`${sent} adversarial requests sent; p99 under attack is ${(attacked.p99 / alone.p99).toFixed(1)}x alone`);

/** nginx's counters since it started (stub_status): connections accepted, requests begun. */
async function nginxCounters(): Promise<{ accepted: number; requests: number }> {
  const text = await (await fetch(`http://127.0.0.1:${settings.NGINX_STATUS_PORT}/stub_status`)).text();
  const counts = /^\s*(\d+) (\d+) (\d+)\s*$/m.exec(text);
  if (counts === null) throw new Error(`nginx's stub_status has no counters: ${text}`);
  return { accepted: Number(counts[1]), requests: Number(counts[3]) };
}

// gRPC: the flood comes from 127.0.0.1 and the normal callers from 127.0.0.2, two client addresses,
// as nginx limits calls in flight per address (nginx/nginx.conf).
const generators = await findLoadGenerators((line) => console.log(line));
if (generators.grpcSum === undefined) {
  console.log("grpc-sum could not be built: the gRPC flood is skipped");
} else {
  const { grpcSum } = generators;
  const grpcEndpoints = { http: "", grpc: `127.0.0.1:${settings.NGINX_GRPC_PORT}`, serviceB: "" };
  const grpcPlan = { transport: "grpc", concurrency: options.GRPC_CALLERS, seconds: options.LOAD_SECONDS } as const;
  const pids = componentPids(settings);
  const watched = new Map([...pids].filter(([name]) => name === "nginx" || name.startsWith("service-a")));
  const memory = () => memoryMibByTree(watched);

  console.log(
    `==> ${options.GRPC_CALLERS} normal gRPC callers from 127.0.0.2 through nginx, ${options.LOAD_SECONDS} s`,
  );
  const grpcAlone = await runGrpcSum(grpcSum, grpcEndpoints, grpcPlan, ["127.0.0.2"]);
  const before = memory();
  const peak = new Map(before);
  const sampler = setInterval(() => {
    for (const [name, mib] of memory()) peak.set(name, Math.max(peak.get(name) ?? 0, mib));
  }, 1000);
  console.log(
    `==> the same, beside a flood from 127.0.0.1: ${options.FLOOD_CONNECTIONS} connections x ${options.FLOOD_STREAMS} streams of undecodable calls (h2load), headers at the limit, ${options.FLOOD_RESET_CONNECTIONS} connections of rapid resets`,
  );
  // The load's own CPU too, as it shares the machine with the stack: this process (the resets) and
  // its children once reaped (h2load, grpc-sum).
  const cpuRoots = new Map([...watched, ["load", process.pid]]);
  const cpuBefore = cpuSecondsByTree(cpuRoots);
  const nginxBefore = await nginxCounters();
  const [grpcFlooded, flood] = await Promise.all([
    runGrpcSum(grpcSum, grpcEndpoints, grpcPlan, ["127.0.0.2"]),
    grpcFlood({
      port: settings.NGINX_GRPC_PORT,
      seconds: options.LOAD_SECONDS,
      connections: options.FLOOD_CONNECTIONS,
      streamsPerConnection: options.FLOOD_STREAMS,
      resetConnections: options.FLOOD_RESET_CONNECTIONS,
    }),
  ]);
  clearInterval(sampler);
  const nginxAfter = await nginxCounters();
  const after = memory();
  const cpu = new Map(
    [...cpuSecondsByTree(cpuRoots)].map(([name, seconds]) => [name, seconds - (cpuBefore.get(name) ?? 0)]),
  );

  for (const [name, result] of [
    ["alone", grpcAlone],
    ["under flood", grpcFlooded],
  ] as const) {
    const failures = Object.entries(result.failures).map(([reason, n]) => `${n} ${reason}`);
    console.log(
      `gRPC ${name.padEnd(11)} p99 ${result.p99.toFixed(1)} ms, p50 ${result.p50.toFixed(1)} ms, ${result.perSecond.toFixed(0)}/s, ${result.failed} failed${failures.length > 0 ? ` (${failures.join(", ")})` : ""}`,
    );
  }
  console.log(`gRPC p99 under flood is ${(grpcFlooded.p99 / grpcAlone.p99).toFixed(1)}x alone`);
  for (const [shape, lines] of Object.entries(flood.h2load)) console.log(`h2load, ${shape}: ${lines.join("; ")}`);
  console.log(
    `rapid reset: ${flood.resets.taken} streams taken by nginx and reset, on ${flood.resets.connections} connections`,
  );
  console.log(
    `nginx during the flood: ${nginxAfter.accepted - nginxBefore.accepted} connections accepted, ${nginxAfter.requests - nginxBefore.requests} requests begun (HTTP/2 streams)`,
  );
  console.log(
    `CPU-s during the flood (${options.LOAD_SECONDS} s on ${availableParallelism()} cores): ${[...cpu].map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(", ")}`,
  );
  for (const name of watched.keys()) {
    const mib = (m: Map<string, number>) => (m.get(name) ?? 0).toFixed(0);
    console.log(
      `${name.padEnd(12)} memory (PSS) ${mib(before)} MiB before, ${mib(peak)} at most during, ${mib(after)} after`,
    );
  }
}
