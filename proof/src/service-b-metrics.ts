/** Service B's own metrics, read between phases of a bench: what it applied, its lag, its end-to-end latency. */
import { sleep } from "@sum/runtime";
import type { Endpoints } from "./clients.js";

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

export interface ServiceBSnapshot {
  applied: number;
  lag: number;
  /** Cumulative end-to-end latency bucket counts by upper bound (seconds). */
  buckets: Map<number, number>;
}

export async function serviceB(endpoints: Endpoints): Promise<ServiceBSnapshot> {
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
export function quantileMs(before: Map<number, number>, after: Map<number, number>, q: number): number {
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

/** Service B's largest lag, read each second while `work` runs. */
export async function withMaxLag<T>(
  endpoints: Endpoints,
  work: () => Promise<T>,
): Promise<{ result: T; maxLag: number }> {
  let maxLag = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      maxLag = Math.max(maxLag, (await serviceB(endpoints)).lag);
      await sleep(1000);
    }
  })();
  try {
    return { result: await work(), maxLag };
  } finally {
    sampling = false;
    await sampler;
  }
}
