/**
 * make bench's soak: a fixed rate over HTTP for many minutes, one open-loop run a minute, with each
 * minute's p99 and Service B's lag, and every component's memory at the start, after the first
 * minute (warm) and at the end. What grows is reported as growing; nothing here passes or fails.
 */
import type { Endpoints } from "./clients.js";
import { runLoad } from "./load.js";
import { memoryMibByTree } from "./process-resources.js";
import { withMaxLag } from "./service-b-metrics.js";

export interface SoakMinute {
  minute: number;
  perSecond: number;
  p99: number;
  /** The most events Service B had not yet applied, sampled each second. */
  maxLag: number;
  acked: number;
  failed: number;
}

export interface SoakMemory {
  component: string;
  startMib: number;
  /** After the first minute: caches filled, code compiled. */
  warmMib: number;
  endMib: number;
  /** More than 10% above its warm figure at the end. */
  growing: boolean;
}

export interface SoakReport {
  rate: number;
  seconds: number;
  minutes: SoakMinute[];
  memory: SoakMemory[];
  /** See p99Trend; undefined when the soak is too short to tell. */
  p99Ratio: number | undefined;
  p99Growing: boolean;
  acked: number;
  failed: number;
  wrong: number;
}

const GROWTH_ALLOWED = 1.1;

export interface P99Trend {
  /** The median p99 of the last minutes over that of the first ones. */
  ratio: number;
  growing: boolean;
}

/**
 * The median p99 of the last minutes over that of the first ones, the first minute left out (warm-up):
 * three each, fewer when there are not six, never a minute in both; undefined under two minutes.
 * Growing means more than 10% up and above every one of the first minutes: a minute's p99 of a few
 * milliseconds wanders by a fifth from one minute to the next (13 to 17 ms at 1,000/s), which alone
 * is no trend.
 */
export function p99Trend(p99PerMinute: number[]): P99Trend | undefined {
  const p99s = p99PerMinute.slice(1);
  const each = Math.min(3, Math.floor(p99s.length / 2));
  if (each === 0) return undefined;
  const first = p99s.slice(0, each);
  const last = median(p99s.slice(-each));
  const ratio = last / median(first);
  return { ratio, growing: ratio > GROWTH_ALLOWED && last > Math.max(...first) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

export async function runSoak(
  endpoints: Endpoints,
  pids: Map<string, number>,
  options: { rate: number; seconds: number; log: (line: string) => void },
): Promise<{ report: SoakReport; ackedSum: bigint }> {
  const memoryAtStart = memoryMibByTree(pids);
  let memoryWarm = memoryAtStart;
  const minutes: SoakMinute[] = [];
  let ackedSum = 0n;
  let wrong = 0;
  for (let elapsed = 0; elapsed < options.seconds; elapsed += 60) {
    const seconds = Math.min(60, options.seconds - elapsed);
    const { result, maxLag } = await withMaxLag(endpoints, () =>
      runLoad(endpoints, { transport: "http", concurrency: 256, seconds, rate: options.rate }),
    );
    ackedSum += result.ackedSum;
    wrong += result.wrong;
    minutes.push({
      minute: minutes.length + 1,
      perSecond: result.perSecond,
      p99: result.p99,
      maxLag,
      acked: result.acked,
      failed: result.failed,
    });
    if (minutes.length === 1) memoryWarm = memoryMibByTree(pids);
    options.log(`soak minute ${minutes.length}: ${Math.round(result.perSecond)}/s, p99 ${result.p99.toFixed(1)} ms`);
  }
  const memoryAtEnd = memoryMibByTree(pids);

  const memory = [...memoryAtStart.keys()].map((component) => {
    const warmMib = memoryWarm.get(component) ?? 0;
    const endMib = memoryAtEnd.get(component) ?? 0;
    return {
      component,
      startMib: memoryAtStart.get(component) ?? 0,
      warmMib,
      endMib,
      growing: endMib > warmMib * GROWTH_ALLOWED,
    };
  });
  const trend = p99Trend(minutes.map((minute) => minute.p99));
  return {
    report: {
      rate: options.rate,
      seconds: options.seconds,
      minutes,
      memory,
      p99Ratio: trend?.ratio,
      p99Growing: trend?.growing ?? false,
      acked: minutes.reduce((sum, minute) => sum + minute.acked, 0),
      failed: minutes.reduce((sum, minute) => sum + minute.failed, 0),
      wrong,
    },
    ackedSum,
  };
}
