import { type Acknowledged, type Endpoints, inParallel, PipelineClient } from "./clients.js";
import { sampledTraceparent } from "./traces.js";

export interface WorkflowOptions {
  /** Sums sent without a key (half HTTP, half gRPC). */
  requests: number;
  /** Sums sent with an Idempotency-Key, each sent again (and once more concurrently). */
  keyedRequests: number;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface WorkflowReport {
  passed: boolean;
  problems: string[];
  sent: number;
  acknowledged: number;
  distinctEvents: number;
  replays: number;
  expectedDelta: bigint;
  totalDelta: bigint;
  secondsToApply: number;
  /** The trace of the first sum: each plain sum is sent with a sampled traceparent of its own. */
  traceId: string;
}

/**
 * The user's proof that the pipeline works: sums through nginx over HTTP and gRPC (some retried
 * with idempotency keys), then every acknowledged event must be applied by Service B, once, with its
 * result. Only public APIs are used and nothing is written behind the system's back; other traffic
 * may flow meanwhile, since it checks its own event ids rather than the absolute total.
 */
export async function runWorkflow(endpoints: Endpoints, options: WorkflowOptions): Promise<WorkflowReport> {
  const client = new PipelineClient(endpoints);
  const problems: string[] = [];
  const runId = Math.random().toString(36).slice(2, 10);
  try {
    const before = await client.total();
    const acks: Acknowledged[] = [];
    let sent = 0;

    const plain = Array.from({ length: options.requests }, (_, i) => i);
    const traces = plain.map(() => sampledTraceparent());
    const answers = await inParallel(plain, 16, (i) => {
      sent += 1;
      const a = 1_000_003 * i - 7;
      const { traceparent } = traces[i] ?? sampledTraceparent();
      return i % 2 === 0
        ? client.sumOverHttp(a, i, undefined, traceparent)
        : client.sumOverGrpc(a, i, undefined, traceparent);
    });
    for (const answer of answers) {
      if (answer.ok) acks.push(answer.ack);
      else problems.push(`a sum was refused: ${answer.status}`);
    }

    const keyed = Array.from({ length: options.keyedRequests }, (_, i) => i);
    await inParallel(keyed, 8, async (i) => {
      const key = `workflow-${runId}-${i}`;
      const send = () => (i % 2 === 0 ? client.sumOverHttp(i, 1, key) : client.sumOverGrpc(i, 1, key));
      sent += 3;
      const first = await send();
      const [again, concurrent] = await Promise.all([send(), send()]);
      if (!first.ok || !again.ok || !concurrent.ok) {
        problems.push(`a keyed sum was refused (key ${key})`);
        return;
      }
      if (again.ack.eventId !== first.ack.eventId || concurrent.ack.eventId !== first.ack.eventId) {
        problems.push(`the retries of key ${key} got another event id`);
      }
      if (!again.ack.replayed || !concurrent.ack.replayed)
        problems.push(`the retries of key ${key} were not marked as replays`);
      acks.push(first.ack);
    });

    const expected = new Map(acks.map((ack) => [ack.eventId, ack.result]));
    if (expected.size !== acks.length) problems.push("two different requests got the same event id");
    const expectedDelta = [...expected.values()].reduce((sum, r) => sum + r, 0n);
    options.log(`sent ${sent} requests; ${acks.length} distinct events acknowledged; waiting for Service B`);

    const started = Date.now();
    const pending = new Set(expected.keys());
    while (pending.size > 0 && Date.now() - started < options.timeoutMs) {
      await inParallel([...pending], 16, async (eventId) => {
        const applied = await client.appliedResult(eventId).catch(() => undefined);
        if (applied === undefined) return;
        pending.delete(eventId);
        if (applied !== expected.get(eventId)) {
          problems.push(`event ${eventId} was applied with ${applied}, not ${expected.get(eventId)}`);
        }
      });
      if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const secondsToApply = (Date.now() - started) / 1000;
    if (pending.size > 0) {
      problems.push(`${pending.size} acknowledged events were not applied within ${options.timeoutMs / 1000} s`);
    }
    const after = await client.total();
    const appliedDelta = after.eventsApplied - before.eventsApplied;
    if (appliedDelta < expected.size) {
      problems.push(`events_applied grew by ${appliedDelta}, fewer than the ${expected.size} events acknowledged`);
    }
    return {
      passed: problems.length === 0,
      problems,
      sent,
      acknowledged: acks.length,
      distinctEvents: expected.size,
      replays: options.keyedRequests * 2,
      expectedDelta,
      totalDelta: after.total - before.total,
      secondsToApply,
      traceId: traces[0]?.traceId ?? "",
    };
  } finally {
    client.close();
  }
}
