/**
 * The whole native stack end to end, as its global setup starts it (native/test/global-setup.ts):
 * sums through nginx over HTTP and gRPC reach user-events once each and the totals exactly, poison
 * reaches user-events.dlq as the AsyncAPI document says, live answers match the OpenAPI documents, a
 * sampled trace is one trace in Jaeger, make test-workflow passes, kill -9 of Kafka Connect loses no
 * committed event, Connect holds the database password only as a placeholder, and make start/stop keep
 * the data.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Kafka Connect's ${env:...} placeholder
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEAD_LETTER_HEADERS, DEAD_LETTER_TOPIC, EVENT_HEADERS, EVENTS_TOPIC, SUM_CALCULATED } from "@sum/contract";
import { CONNECTOR, KafkaConnect } from "@sum/native/connect";
import { readPid } from "@sum/native/process";
import { loadSettings, paths, REPO_ROOT, type Settings, serviceAPorts } from "@sum/native/settings";
import { runTypeScript, stackCli } from "@sum/native/stack-cli";
import { type GrpcOutcome, summationClient, waitFor } from "@sum/runtime";
import { asyncApiValidators, fetchNonConformance, type OpenApiDocument, openApiErrors } from "@sum/test-support";
import { Kafka, logLevel } from "kafkajs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { PipelineClient } from "../src/clients.js";
import { readTrace, sampledTraceparent, type TraceSpan } from "../src/traces.js";

const env = inject("stackEnv");
const settings: Settings = loadSettings({ ...process.env, ...env });
const http = `http://127.0.0.1:${settings.NGINX_HTTP_PORT}`;
const grpcTarget = `127.0.0.1:${settings.NGINX_GRPC_PORT}`;
const grpc = summationClient(grpcTarget);
/** The schemas of docs/asyncapi.yaml, which every message read here must satisfy. */
const { sumCalculated, deadLetter } = asyncApiValidators();

interface Delivered {
  partition: number;
  key: string;
  headers: Record<string, string>;
  value: Buffer | null;
}

/** Reads a topic from the beginning, with a group of its own, until `done` says it has seen enough. */
async function readTopic(
  topic: string,
  done: (seen: Delivered[]) => boolean,
  timeoutMs = 90_000,
): Promise<Delivered[]> {
  const kafka = new Kafka({ brokers: [`127.0.0.1:${settings.KAFKA_PORT}`], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `e2e-${Math.random().toString(36).slice(2)}` });
  const seen: Delivered[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
      seen.push({
        partition,
        key: message.key?.toString() ?? "",
        headers,
        value: message.value,
      });
      if (done(seen)) finish();
    },
  });
  const timer = setTimeout(finish, timeoutMs);
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  return seen;
}

async function sumOverHttp(a: number, b: number, key?: string) {
  const response = await fetch(`${http}/sum`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "idempotency-key": key } : {}) },
    body: JSON.stringify({ a, b }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

const readUserEvents = (done: (seen: Delivered[]) => boolean) => readTopic(EVENTS_TOPIC, done);

/** The components a `start` said it started. */
const startedComponents = (output: string) => [...output.matchAll(/^==> starting (\S+)$/gm)].map((m) => m[1]);

afterAll(() => grpc.close());

describe("the native stack", () => {
  it("sums sent through nginx over HTTP and gRPC reach user-events exactly once each, as the contract says", async () => {
    const sent: Array<{ id: string; a: number; b: number; service: string }> = [];
    for (let i = 0; i < 30; i++) {
      const response = await sumOverHttp(i, 1000);
      expect(response.status).toBe(200);
      sent.push({ id: response.body.event_id, a: i, b: 1000, service: response.body.service_id });
    }
    const outcomes: GrpcOutcome[] = await Promise.all(
      Array.from({ length: 30 }, (_, i) => grpc.calculateSum({ a: i, b: 2000 })),
    );
    outcomes.forEach((outcome, i) => {
      expect(outcome.code).toBe(0);
      sent.push({ id: outcome.reply?.event_id as string, a: i, b: 2000, service: outcome.reply?.service_id as string });
    });
    expect(new Set(sent.map((s) => s.service))).toEqual(new Set(["service-a-1", "service-a-2", "service-a-3"]));

    const ids = new Set(sent.map((s) => s.id));
    const delivered = (await readUserEvents((seen) => seen.filter((d) => ids.has(d.key)).length >= ids.size)).filter(
      (d) => ids.has(d.key),
    );
    expect(delivered).toHaveLength(sent.length);
    for (const request of sent) {
      const matches = delivered.filter((d) => d.key === request.id);
      expect(matches).toHaveLength(1);
      const [message] = matches;
      const payload: unknown = JSON.parse(message?.value?.toString() ?? "null");
      expect(sumCalculated?.headers(message?.headers), JSON.stringify(sumCalculated?.headers.errors)).toBe(true);
      expect(sumCalculated?.payload(payload), JSON.stringify(sumCalculated?.payload.errors)).toBe(true);
      expect(message?.headers).toMatchObject({
        [EVENT_HEADERS.eventId]: request.id,
        [EVENT_HEADERS.eventType]: SUM_CALCULATED,
      });
      expect(payload).toEqual({
        event_id: request.id,
        a: request.a,
        b: request.b,
        result: request.a + request.b,
        service_id: request.service,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
    }
    expect(new Set(delivered.map((d) => d.partition)).size).toBeGreaterThanOrEqual(2);
  });

  it("a message that is not an event reaches user-events.dlq as the AsyncAPI document describes it", async () => {
    const key = `poison-${crypto.randomUUID()}`;
    const value = '{"not": "a sum event"}';
    const producer = new Kafka({
      brokers: [`127.0.0.1:${settings.KAFKA_PORT}`],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    await producer.send({ topic: EVENTS_TOPIC, messages: [{ key, value, headers: { origin: "pipeline-test" } }] });
    await producer.disconnect();

    const [letter] = (await readTopic(DEAD_LETTER_TOPIC, (seen) => seen.some((d) => d.key === key))).filter(
      (d) => d.key === key,
    );
    expect(deadLetter?.headers(letter?.headers), JSON.stringify(deadLetter?.headers.errors)).toBe(true);
    expect(deadLetter?.payload(letter?.value?.toString())).toBe(true);
    expect(letter?.value?.toString()).toBe(value);
    expect(letter?.headers).toMatchObject({
      origin: "pipeline-test",
      [DEAD_LETTER_HEADERS.reason]: "event_id is missing or not a UUID",
      [DEAD_LETTER_HEADERS.sourceTopic]: EVENTS_TOPIC,
    });
  });

  it("sums sent to nginx over HTTP and gRPC end up in GET /api/summation exactly", async () => {
    const serviceB = `http://127.0.0.1:${settings.SERVICE_B_PORT}`;
    const totals = async () =>
      (await (await fetch(`${serviceB}/api/total?consistency=strong`)).json()) as {
        total: string;
        events_applied: number;
      };
    // Earlier tests' events may still be on their way: start once they are all applied.
    const client = new PipelineClient({ http, grpc: grpcTarget, serviceB, kafka: `127.0.0.1:${settings.KAFKA_PORT}` });
    await client.settledTotal();
    client.close();
    const before = await totals();
    let expected = 0n;
    for (let i = 0; i < 50; i++) {
      const response = await sumOverHttp(1_000_000_007 * i, -3);
      expect(response.status).toBe(200);
      expected += BigInt(1_000_000_007 * i - 3);
    }
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => grpc.calculateSum({ a: i, b: 9_007_199_254_740_000 })),
    );
    for (const [i, outcome] of outcomes.entries()) {
      expect(outcome.code).toBe(0);
      expected += BigInt(i) + 9_007_199_254_740_000n;
    }
    await waitFor(
      "the 100 sums to be applied",
      async () => (await totals()).events_applied >= before.events_applied + 100,
    );
    const after = await totals();
    expect(after.events_applied - before.events_applied).toBe(100);
    expect(BigInt(after.total) - BigInt(before.total)).toBe(expected);
    const summation = await (await fetch(`${serviceB}/api/summation?consistency=strong`)).text();
    expect(summation).toBe(after.total);
  });

  it("nginx serves Service A's OpenAPI document, and live answers through nginx and from Service B match the documents", async () => {
    const serviceB = `http://127.0.0.1:${settings.SERVICE_B_PORT}`;
    const documentA = (await (await fetch(`${http}/openapi.json`)).json()) as OpenApiDocument;
    const instance = serviceAPorts(settings)[0]?.http;
    expect(await (await fetch(`http://127.0.0.1:${instance}/openapi.json`)).json()).toEqual(documentA);
    const documentB = (await (await fetch(`${serviceB}/openapi.json`)).json()) as OpenApiDocument;
    expect([await openApiErrors(documentA), await openApiErrors(documentB)]).toEqual([[], []]);

    const key = `openapi-${Date.now()}`;
    const sum = (body: string, headers: Record<string, string> = {}) =>
      fetchNonConformance(documentA, `${http}/sum`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
    const first = await sum('{"a": 4, "b": 5}', { "idempotency-key": key, traceparent: "not one" });
    const answers = [
      first,
      await sum('{"a": 4, "b": 5}', { "idempotency-key": key }),
      await sum('{"a": 4, "b": 6}', { "idempotency-key": key }),
      await sum('{"a": 1.5, "b": 2}'),
      await sum('{"a": 1, "b": 2}', { "content-type": "text/plain" }),
      await sum(`{"a": 1, "b": 2, "pad": "${"x".repeat(17_000)}"}`),
    ];
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 422, 400, 415, 413]);
    expect(answers[1]?.response.headers.get("idempotent-replayed")).toBe("true");
    const eventId = (JSON.parse(first.response.body) as { event_id: string }).event_id;
    await waitFor(
      "the sum to be applied",
      async () => (await fetch(`${serviceB}/api/events/${eventId}?consistency=strong`)).status === 200,
    );
    answers.push(
      await fetchNonConformance(documentB, `${serviceB}/api/events/${eventId}?consistency=strong`),
      await fetchNonConformance(documentB, `${serviceB}/api/events/00000000-0000-7000-8000-000000000000`),
      await fetchNonConformance(documentB, `${serviceB}/api/events/NOT-A-UUID`),
      await fetchNonConformance(documentB, `${serviceB}/api/total`),
      await fetchNonConformance(documentB, `${serviceB}/api/summation?consistency=strong`),
      await fetchNonConformance(documentB, `${serviceB}/readyz`),
    );
    expect(answers.map((a) => a.response.status).slice(6)).toEqual([200, 404, 400, 200, 200, 200]);
    expect(answers.flatMap((a) => a.problems)).toEqual([]);
  });

  it("a sampled trace sent to nginx is one trace in Jaeger, from Service A's request span to Service B's apply span, and in both services' logs", async () => {
    const { traceparent, traceId } = sampledTraceparent();
    const callerSpanId = traceparent.slice(36, 52);
    const response = await fetch(`${http}/sum`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent },
      body: JSON.stringify({ a: 20, b: 22 }),
    });
    const { event_id: eventId } = (await response.json()) as { event_id: string };
    const [message] = (await readUserEvents((seen) => seen.some((d) => d.key === eventId))).filter(
      (d) => d.key === eventId,
    );
    // The event carries Service A's span of the request: the caller's trace, a span id of its own.
    const stored = message?.headers[EVENT_HEADERS.traceparent] ?? "";
    expect(stored).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(stored).not.toBe(traceparent);

    const jaeger = `http://127.0.0.1:${settings.JAEGER_QUERY_PORT}`;
    let spans: TraceSpan[] = [];
    const request = () => spans.find((span) => span.service === "service-a" && span.name === "POST /sum");
    const apply = () => spans.find((span) => span.service === "service-b" && span.name === "apply SumCalculated");
    await waitFor(
      "Service A's request span and Service B's apply span in Jaeger",
      async () => {
        spans = await readTrace(jaeger, traceId);
        return request() !== undefined && apply() !== undefined;
      },
      60_000,
    );
    expect(request()).toMatchObject({ kind: "server", parentSpanId: callerSpanId, spanId: stored.slice(36, 52) });
    expect(apply()).toMatchObject({ kind: "consumer", parentSpanId: request()?.spanId });

    const logs = paths(settings).logs;
    const logged = async (file: string) => (await readFile(join(logs, file), "utf8").catch(() => "")).includes(traceId);
    await waitFor("the trace id in Service B's log", () => logged("service-b.log"), 30_000);
    expect(await logged("service-b.log")).toBe(true);
    const serviceALogs = await Promise.all(["service-a-1.log", "service-a-2.log", "service-a-3.log"].map(logged));
    expect(serviceALogs.filter(Boolean)).toHaveLength(1);
  });

  it("a sampled trace sent over gRPC has Service A's server span for the call in Jaeger", async () => {
    const { traceparent, traceId } = sampledTraceparent();
    const outcome = await grpc.calculateSum({ a: 1, b: 2 }, { traceparent });
    expect(outcome.code).toBe(0);
    const jaeger = `http://127.0.0.1:${settings.JAEGER_QUERY_PORT}`;
    let spans: TraceSpan[] = [];
    await waitFor(
      "Service A's span of the gRPC call and Service B's apply span in Jaeger",
      async () => {
        spans = await readTrace(jaeger, traceId);
        return spans.some((span) => span.service === "service-b");
      },
      60_000,
    );
    expect(spans).toContainEqual(
      expect.objectContaining({
        service: "service-a",
        name: "summation.SummationService/CalculateSum",
        kind: "server",
        parentSpanId: traceparent.slice(36, 52),
      }),
    );
  });

  it("make test-workflow passes: every acknowledged sum, retries included, is applied once", async () => {
    const output = await runTypeScript(join(REPO_ROOT, "proof", "src", "workflow-cli.ts"), env);
    expect(output).toMatch(/^PASS$/m);
    expect(output).toMatch(/events acknowledged: +340 \(80 replays/);
    // Its sums went with sampled traceparents: Jaeger holds the trace whose link it prints.
    expect(output).toMatch(/a trace in Jaeger: +http:\/\/127\.0\.0\.1:\d+\/trace\/[0-9a-f]{32} \([1-9]\d* spans\)/);
  });

  it("after kill -9 of Kafka Connect mid-stream and make start, every committed event still reaches Kafka", async () => {
    const acknowledged: string[] = [];
    const pid = readPid(paths(settings).pid("kafka-connect"));
    let killed = false;
    for (let i = 0; i < 200; i++) {
      if (i === 60) {
        process.kill(pid as number, "SIGKILL");
        killed = true;
      }
      const response = await sumOverHttp(i, 3000);
      if (response.status === 200) acknowledged.push(response.body.event_id);
    }
    expect(killed).toBe(true);
    expect(acknowledged).toHaveLength(200);
    const output = await stackCli(env, "start");
    expect(startedComponents(output)).toEqual(["kafka-connect"]);

    const wanted = new Set(acknowledged);
    const delivered = await readUserEvents(
      (seen) => new Set(seen.map((d) => d.key).filter((k) => wanted.has(k))).size >= wanted.size,
    );
    const arrived = new Set(delivered.map((d) => d.key));
    const lost = acknowledged.filter((id) => !arrived.has(id));
    expect(lost).toEqual([]);
  });

  it("Kafka Connect holds the connector's database password only as its placeholder: over REST and in its config topic", async () => {
    const connect = `http://127.0.0.1:${settings.CONNECT_PORT}`;
    const config = (await (await fetch(`${connect}/connectors/${CONNECTOR}/config`)).json()) as Record<string, string>;
    expect(config["database.password"]).toBe("${env:DEBEZIUM_DB_PASSWORD}");
    const everything = await (await fetch(`${connect}/connectors?expand=info&expand=status`)).text();
    expect(everything).toContain(CONNECTOR);
    expect(everything).not.toContain(settings.DEBEZIUM_DB_PASSWORD);
    const configTopic = /^config\.storage\.topic=(.+)$/m.exec(
      await readFile(join(REPO_ROOT, "native", "jvm", "connect-distributed.properties"), "utf8"),
    )?.[1] as string;
    const stored = await readTopic(configTopic, (seen) =>
      seen.some((record) => record.key === `connector-${CONNECTOR}`),
    );
    expect(stored.map((record) => record.key)).toContain(`connector-${CONNECTOR}`);
    for (const record of stored) expect(record.value?.toString() ?? "").not.toContain(settings.DEBEZIUM_DB_PASSWORD);
    // The placeholder resolves in the worker: the task logs in and streams (the tests above).
    expect((await new KafkaConnect(settings, () => undefined).connectorStatus())?.tasks[0]?.state).toBe("RUNNING");
    // and its REST API answers on loopback only, as start checked.
    await expect(new KafkaConnect(settings, () => undefined).requireRestOnLoopbackOnly()).resolves.toBeUndefined();
  });

  it("make start on a running stack starts nothing; make stop then make start keeps all data", async () => {
    expect(startedComponents(await stackCli(env, "start"))).toEqual([]);
    const figures = await stackCli(env, "status");
    expect(figures).toMatch(/^running total +-?\d+ \(\d+ events\)$/m);
    expect(figures).toMatch(/^requests\/s into Service A +\d+\.\d$/m);
    expect(figures).toMatch(/^Service B consumer lag +\d+ messages$/m);
    expect(figures).toMatch(/^WAL kept by Debezium's slot +[\d.]+ MiB$/m);

    const before = await sumOverHttp(7, 7, "survives-restart");
    expect(before.status).toBe(200);
    await stackCli(env, "stop");
    const status = await stackCli(env, "status");
    expect(status).not.toMatch(/\bready\b/);
    await stackCli(env, "start");

    const replay = await sumOverHttp(7, 7, "survives-restart");
    expect(replay.body.event_id).toBe(before.body.event_id);
    const delivered = await readUserEvents((seen) => seen.some((d) => d.key === before.body.event_id));
    expect(delivered.filter((d) => d.key === before.body.event_id).length).toBeGreaterThanOrEqual(1);
  });
});
