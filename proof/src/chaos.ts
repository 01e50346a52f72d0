import type { Settings } from "@sum/native/settings";
import { sleep } from "@sum/runtime";
import { type Answer, type Endpoints, inParallel, PipelineClient } from "./clients.js";
import {
  CRASHES,
  deadLettered,
  killComponent,
  type LongFault,
  type LongFaultName,
  type LongFaultOptions,
  longFaults,
  POISON_BURST,
  restartStack,
} from "./faults.js";

export interface ChaosOptions extends LongFaultOptions {
  /** Requests per second offered (half HTTP, half gRPC). */
  rate: number;
  /** How long a killed component stays down before `make start`. */
  downMs: number;
  /** The long faults to bring about after the crashes, and how long each lasts. */
  longFaults: readonly LongFaultName[];
  longDownMs: number;
  /** Steady load between one recovery and the next fault. */
  steadyMs: number;
  /** The load runs at least this long in all. */
  minDurationMs: number;
  log: (line: string) => void;
}

export interface FaultReport {
  fault: string;
  /** From the fault to the stack's recovery (`make start`, or the stream resumed). */
  downSeconds: number;
  acked: number;
  refused: number;
  secondsUntilFlowing: number;
}

export interface ChaosReport {
  passed: boolean;
  problems: string[];
  faults: FaultReport[];
  requests: number;
  attempts: number;
  seconds: number;
  offeredRate: number;
  totalDelta: bigint;
  expectedDelta: bigint;
  eventsAppliedDelta: number;
}

interface LogicalRequest {
  n: number;
  key: string;
  a: number;
  b: number;
  answer?: Answer & { ok: true };
}

/**
 * The chaos run: a steady load through nginx while each component in turn is killed with -9 and
 * brought back with `make start`. Every request carries an Idempotency-Key and is retried until it is
 * acknowledged, as a careful client would; so afterwards the total must equal the sum of the
 * acknowledged results exactly, every acknowledged event must be applied, and nothing twice.
 * It needs the stack to itself: other traffic would change the total.
 */
export async function runChaos(
  settings: Settings,
  env: NodeJS.ProcessEnv,
  endpoints: Endpoints,
  options: ChaosOptions,
): Promise<ChaosReport> {
  const client = new PipelineClient(endpoints);
  const problems: string[] = [];
  const runId = Math.random().toString(36).slice(2, 8);
  const requests: LogicalRequest[] = [];
  const answers: Array<{ at: number; ok: boolean }> = [];
  let attempts = 0;
  let loadRunning = true;
  let inFlight = 0;
  // Room for the retries that pile up during an outage, so the offered rate holds; still bounded.
  const maxInFlight = Math.max(64, options.rate * 4);

  const settle = async (request: LogicalRequest) => {
    let backoff = 100;
    while (!request.answer) {
      attempts += 1;
      const answer =
        request.n % 2 === 0
          ? await client.sumOverHttp(request.a, request.b, request.key)
          : await client.sumOverGrpc(request.a, request.b, request.key);
      answers.push({ at: Date.now(), ok: answer.ok });
      if (answer.ok) request.answer = answer;
      else {
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  };

  try {
    const before = await client.settledTotal();
    const started = Date.now();
    const settling: Array<Promise<void>> = [];
    const load = (async () => {
      const tickMs = 20;
      let due = 0;
      while (loadRunning) {
        due += (options.rate * tickMs) / 1000;
        while (due >= 1 && inFlight < maxInFlight) {
          due -= 1;
          const n = requests.length;
          const request: LogicalRequest = { n, key: `chaos-${runId}-${n}`, a: n * 1_000_003, b: n % 97 };
          requests.push(request);
          inFlight += 1;
          settling.push(settle(request).finally(() => (inFlight -= 1)));
        }
        due = Math.min(due, options.rate); // never a burst after a stall
        await sleep(tickMs);
      }
    })();

    // One keyed 0+0 per fault, retried until acknowledged and then applied: the pipeline flows again.
    const probe = async (label: string) => {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const answer = await client.sumOverHttp(0, 0, `probe-${runId}-${label}`);
        if (answer.ok && (await client.appliedResult(answer.ack.eventId).catch(() => undefined)) !== undefined) return;
        await sleep(100);
      }
      throw new Error(`the pipeline did not flow again within 120 s after ${label}`);
    };

    await sleep(options.steadyMs);
    const faults: FaultReport[] = [];
    const long = longFaults(settings, env, options);
    const kafka = `127.0.0.1:${settings.KAFKA_PORT}`;
    const deadLetteredBefore = await deadLettered(kafka);
    for (const fault of [...CRASHES, ...options.longFaults]) {
      const faultAt = Date.now();
      if (fault in long) {
        options.log(`${fault} for ${(options.longDownMs / 1000).toFixed(0)} s`);
        const end = await (long[fault] as LongFault)();
        await sleep(options.longDownMs);
        await end();
      } else {
        options.log(`kill -9 ${fault}`);
        killComponent(settings, fault);
        await sleep(options.downMs);
        await restartStack(env);
      }
      const recoveredAt = Date.now();
      await probe(fault);
      const flowingAt = Date.now();
      const during = answers.filter((a) => a.at >= faultAt && a.at <= flowingAt);
      faults.push({
        fault,
        downSeconds: (recoveredAt - faultAt) / 1000,
        acked: during.filter((a) => a.ok).length,
        refused: during.filter((a) => !a.ok).length,
        secondsUntilFlowing: (flowingAt - faultAt) / 1000,
      });
      options.log(`${fault}: flowing again after ${((flowingAt - faultAt) / 1000).toFixed(1)} s`);
      await sleep(options.steadyMs);
    }
    const remaining = options.minDurationMs - (Date.now() - started);
    if (remaining > 0) await sleep(remaining);
    loadRunning = false;
    await load;
    const seconds = (Date.now() - started) / 1000;
    options.log(
      `load stopped after ${seconds.toFixed(0)} s: ${requests.length} requests; waiting for every one to be acknowledged`,
    );
    await Promise.race([Promise.all(settling), sleep(180_000)]);
    const unsettled = requests.filter((r) => !r.answer);
    if (unsettled.length > 0) problems.push(`${unsettled.length} requests were never acknowledged`);

    const acked = requests.filter((r) => r.answer).map((r) => r.answer?.ack as NonNullable<typeof r.answer>["ack"]);
    const expected = new Map(acked.map((ack) => [ack.eventId, ack.result]));
    if (expected.size !== acked.length) problems.push("two different requests got the same event id");
    const expectedDelta = [...expected.values()].reduce((sum, r) => sum + r, 0n);
    // The probes add zeros: they count as events but not to the total.
    const probes = faults.length;

    options.log(`waiting for ${expected.size} acknowledged events to be applied`);
    const pending = new Set(expected.keys());
    const deadline = Date.now() + 180_000;
    while (pending.size > 0 && Date.now() < deadline) {
      await inParallel([...pending], 32, async (eventId) => {
        const applied = await client.appliedResult(eventId).catch(() => undefined);
        if (applied === undefined) return;
        pending.delete(eventId);
        if (applied !== expected.get(eventId))
          problems.push(`event ${eventId} applied with ${applied}, not ${expected.get(eventId)}`);
      });
      if (pending.size > 0) await sleep(500);
    }
    if (pending.size > 0) problems.push(`${pending.size} acknowledged events (a 200 / OK) were never applied`);

    // Every acknowledged event is applied by now, and the poison came before the last of them.
    const poison = options.longFaults.includes("poison burst") ? POISON_BURST : 0;
    const deadLetters = (await deadLettered(kafka)) - deadLetteredBefore;
    if (deadLetters !== poison)
      problems.push(`${deadLetters} messages were dead-lettered, not the ${poison} of the burst`);

    const after = await client.total();
    const totalDelta = after.total - before.total;
    const eventsAppliedDelta = after.eventsApplied - before.eventsApplied;
    if (totalDelta !== expectedDelta)
      problems.push(`the total grew by ${totalDelta}, not by the acknowledged ${expectedDelta}`);
    if (eventsAppliedDelta < expected.size + probes) {
      problems.push(
        `events_applied grew by ${eventsAppliedDelta}, fewer than the ${expected.size} acknowledged events and ${probes} probes`,
      );
    }
    if (eventsAppliedDelta > expected.size + probes) {
      problems.push(
        `events_applied grew by ${eventsAppliedDelta}: more events than were acknowledged (${expected.size} + ${probes} probes)`,
      );
    }
    return {
      passed: problems.length === 0,
      problems,
      faults,
      requests: requests.length,
      attempts,
      seconds,
      offeredRate: requests.length / seconds,
      totalDelta,
      expectedDelta,
      eventsAppliedDelta,
    };
  } finally {
    loadRunning = false;
    client.close();
  }
}
