import { randomUUID } from "node:crypto";
import { EVENTS_TOPIC } from "@sum/contract";
import { type Settings, serviceAPorts } from "@sum/native/settings";
import { type SummationClient, summationClient, waitFor } from "@sum/runtime";
import { Kafka, logLevel } from "kafkajs";

export interface Endpoints {
  /** nginx, HTTP */
  http: string;
  /** nginx, gRPC (host:port) */
  grpc: string;
  /** Each Service A instance's own gRPC listener (host:port), for the bench's phase without nginx. */
  grpcInstances?: string[];
  /** Service B */
  serviceB: string;
  /** Kafka (host:port), where settledTotal() reads how far Service B has consumed */
  kafka?: string;
}

/** The native stack's endpoints as its settings place them: nginx's, Service A's, Service B's and Kafka's. */
export function stackEndpoints(settings: Settings): Endpoints {
  return {
    http: `http://127.0.0.1:${settings.NGINX_HTTP_PORT}`,
    grpc: `127.0.0.1:${settings.NGINX_GRPC_PORT}`,
    grpcInstances: serviceAPorts(settings).map((instance) => `127.0.0.1:${instance.grpc}`),
    serviceB: `http://127.0.0.1:${settings.SERVICE_B_PORT}`,
    kafka: `127.0.0.1:${settings.KAFKA_PORT}`,
  };
}

/** Service B's consumer group (its default, as the stacks run it). */
const SERVICE_B_GROUP = "service-b";

/**
 * Marker sums (0 + 0) this process sent to find where the pipeline stands. Readings leave them out
 * of events_applied, so a delta between two readings counts the real sums alone.
 */
let markersSent = 0;

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

  async sumOverHttp(a: number, b: number, idempotencyKey?: string, traceparent?: string): Promise<Answer> {
    try {
      const response = await fetch(`${this.endpoints.http}/sum`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
          ...(traceparent ? { traceparent } : {}),
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

  /** Sends a sum until it is acknowledged: the same key each time, so it is one sum however often it is sent. */
  async sumUntilAcknowledged(a: number, b: number, timeoutMs = 120_000): Promise<Acknowledged> {
    const key = `until-acknowledged-${randomUUID()}`;
    let ack: Acknowledged | undefined;
    await waitFor(
      "the sum acknowledged",
      async () => {
        const answer = await this.sumOverHttp(a, b, key);
        if (answer.ok) ack = answer.ack;
        return answer.ok;
      },
      timeoutMs,
    );
    return ack as Acknowledged;
  }

  async sumOverGrpc(a: number, b: number, idempotencyKey?: string, traceparent?: string): Promise<Answer> {
    const outcome = await this.grpcClient.calculateSum(
      { a, b },
      { ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}), ...(traceparent ? { traceparent } : {}) },
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

  /** The total and the events applied (less this process's marker sums), read from the leader. */
  async total(): Promise<{ total: bigint; eventsApplied: number }> {
    const response = await fetch(`${this.endpoints.serviceB}/api/total?consistency=strong`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) throw new Error(`GET /api/total: ${response.status}`);
    const body = (await response.json()) as { total: string; events_applied: number };
    return { total: BigInt(body.total), eventsApplied: body.events_applied - markersSent };
  }

  /**
   * The total once every sum committed before this call is applied. A marker sum committed now
   * comes after all of them in the outbox's WAL, so in Debezium's stream; once it is applied and
   * Service B's group has consumed every partition to the end it had then, nothing earlier is left.
   */
  async settledTotal(timeoutMs = 180_000): Promise<{ total: bigint; eventsApplied: number }> {
    const kafka = this.endpoints.kafka;
    if (kafka === undefined) throw new Error("settledTotal() needs the Kafka address in the endpoints");
    // The same key on every try: however many answers are lost, the marker is one event.
    const key = `settle-marker-${randomUUID()}`;
    let eventId = "";
    await waitFor(
      "a marker sum to be acknowledged",
      async () => {
        const marker = await this.sumOverHttp(0, 0, key);
        if (marker.ok) eventId = marker.ack.eventId;
        return marker.ok;
      },
      timeoutMs,
    );
    markersSent += 1;
    await waitFor(
      "the marker sum to be applied",
      async () => (await this.appliedResult(eventId)) !== undefined,
      timeoutMs,
    );
    const admin = new Kafka({ brokers: [kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const ends = await admin.fetchTopicOffsets(EVENTS_TOPIC);
      await waitFor(
        "Service B to consume every partition to its end",
        async () => {
          const [committed] = await admin.fetchOffsets({ groupId: SERVICE_B_GROUP, topics: [EVENTS_TOPIC] });
          const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
          return ends.every(
            (end) => BigInt(end.high) === BigInt(end.low) || (done.get(end.partition) ?? -1n) >= BigInt(end.high),
          );
        },
        timeoutMs,
      );
    } finally {
      await admin.disconnect();
    }
    return this.total();
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
