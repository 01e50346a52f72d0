import type { Scenario } from "k6/options";

/**
 * The load shape, chosen with SCENARIO (default "constant"). Both are open models: k6 starts
 * iterations at the rate asked whether or not earlier ones have finished, so a slow pipeline shows
 * as latency and failures instead of quietly lowering the rate.
 * - constant: RATE iterations per second (default 200) for DURATION (default 1m).
 * - ramping: from 0 to RATE per second over DURATION, then RATE for 30 s: where latency bends is the limit.
 */
export function scenarioFromEnv(): Scenario {
  const rate = Number(__ENV.RATE ?? 200);
  const duration = __ENV.DURATION ?? "1m";
  if (!Number.isInteger(rate) || rate < 1) throw new Error(`RATE must be a positive integer, not ${__ENV.RATE}`);
  // Enough virtual users for every iteration in flight when each takes up to a second.
  const maxVUs = Math.max(50, rate);
  const scenario = __ENV.SCENARIO ?? "constant";
  if (scenario === "constant") {
    return { executor: "constant-arrival-rate", rate, timeUnit: "1s", duration, preAllocatedVUs: 20, maxVUs };
  }
  if (scenario === "ramping") {
    return {
      executor: "ramping-arrival-rate",
      startRate: 0,
      timeUnit: "1s",
      preAllocatedVUs: 20,
      maxVUs,
      stages: [
        { target: rate, duration },
        { target: rate, duration: "30s" },
      ],
    };
  }
  throw new Error(`SCENARIO must be "constant" or "ramping", not "${scenario}"`);
}

/** An operand whose sums stay well inside JavaScript's exact integers (and the contract's range). */
export function randomOperand(): number {
  return Math.floor(Math.random() * 2e15) - 1e15;
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
