import { type SummationClient, summationClient } from "@sum/test-support";

export interface Endpoints {
  /** nginx, HTTP */
  http: string;
  /** nginx, gRPC (host:port) */
  grpc: string;
  /** Service B */
  serviceB: string;
}

export interface Acknowledged {
  eventId: string;
  result: bigint;
  replayed: boolean;
}

export type Answer = { ok: true; ack: Acknowledged } | { ok: false; status: string };

/** The pipeline as a client sees it: sums through nginx, totals and applied events from Service B. */
export class PipelineClient {
  private readonly grpcClient: SummationClient;

  constructor(readonly endpoints: Endpoints) {
    this.grpcClient = summationClient(endpoints.grpc);
  }

  async sumOverHttp(a: number, b: number, idempotencyKey?: string): Promise<Answer> {
    try {
      const response = await fetch(`${this.endpoints.http}/sum`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
        },
        body: JSON.stringify({ a, b }),
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await response.json().catch(() => ({}))) as {
        event_id?: string;
        result?: number;
        error?: { code: string };
      };
      if (response.status !== 200 || body.event_id === undefined || body.result === undefined) {
        return { ok: false, status: `HTTP ${response.status} ${body.error?.code ?? ""}`.trim() };
      }
      return {
        ok: true,
        ack: {
          eventId: body.event_id,
          result: BigInt(body.result),
          replayed: response.headers.get("idempotent-replayed") === "true",
        },
      };
    } catch (error) {
      return { ok: false, status: `HTTP ${(error as Error).name}` };
    }
  }

  async sumOverGrpc(a: number, b: number, idempotencyKey?: string): Promise<Answer> {
    const outcome = await this.grpcClient.calculateSum(
      { a, b },
      idempotencyKey ? { "idempotency-key": idempotencyKey } : {},
    );
    if (outcome.code !== 0 || !outcome.reply) return { ok: false, status: `gRPC ${outcome.code}` };
    return {
      ok: true,
      ack: {
        eventId: outcome.reply.event_id,
        result: BigInt(outcome.reply.result),
        replayed: outcome.replayed ?? false,
      },
    };
  }

  async total(): Promise<{ total: bigint; eventsApplied: number }> {
    const response = await fetch(`${this.endpoints.serviceB}/api/total?consistency=strong`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`GET /api/total: ${response.status}`);
    const body = (await response.json()) as { total: string; events_applied: number };
    return { total: BigInt(body.total), eventsApplied: body.events_applied };
  }

  /** The total once it has stopped moving (nothing applied for `quietMs`): a clean start for a delta. */
  async settledTotal(quietMs = 1500): Promise<{ total: bigint; eventsApplied: number }> {
    let last = await this.total();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      const now = await this.total();
      if (now.eventsApplied === last.eventsApplied) return now;
      last = now;
    }
  }

  /** The result Service B applied for this event, or undefined if it has not been applied. */
  async appliedResult(eventId: string): Promise<bigint | undefined> {
    const response = await fetch(`${this.endpoints.serviceB}/api/events/${eventId}?consistency=strong`, {
      signal: AbortSignal.timeout(5000),
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`GET /api/events/${eventId}: ${response.status}`);
    return BigInt(((await response.json()) as { result: number }).result);
  }

  close(): void {
    this.grpcClient.close();
  }
}

/** Runs `work` over `items` with at most `concurrency` at a time, in order of start. */
export async function inParallel<T, R>(items: T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index] as T);
      }
    }),
  );
  return results;
}
