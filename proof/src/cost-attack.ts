/**
 * `make bench-cost-attack`: normal load through nginx, first alone, then beside callers that keep
 * sending the costliest 16 KiB requests Service A's request-cost test knows. Prints the normal
 * requests' p99 both ways: if one request could cost far more than its size, the second would
 * balloon. Needs a running stack (make start); NGINX_URL points elsewhere.
 */

import { MAX_MESSAGE_BYTES } from "@sum/contract";
import { loadSettings } from "@sum/native/settings";
import { requestShapes } from "@sum/test-support";
import { z } from "zod";
import { runLoad } from "./load.js";

const settings = loadSettings();
const options = z
  .object({
    NGINX_URL: z.url().default(`http://127.0.0.1:${settings.NGINX_HTTP_PORT}`),
    ATTACKERS: z.coerce.number().int().min(1).default(8),
    LOAD_CONCURRENCY: z.coerce.number().int().min(1).default(32),
    LOAD_SECONDS: z.coerce.number().positive().default(15),
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
