import { EVENTS_TOPIC } from "@sum/contract";
import { metricNames, panelsInRows, readDashboard } from "@sum/grafana/dashboard";
import { kafkaClient } from "@sum/native/kafka";
import { loadSettings } from "@sum/native/settings";
import { waitFor } from "@sum/runtime";
import { afterAll, beforeAll, expect, inject, it } from "vitest";
import { inParallel, PipelineClient, stackEndpoints } from "../src/clients.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const prometheus = `http://127.0.0.1:${settings.PROMETHEUS_PORT}`;
const pipeline = new PipelineClient(stackEndpoints(settings));

// What Grafana puts in place of $__rate_interval is at least 4 scrapes (20 s here); a minute spans the
// load below, so every rate sees it. The dashboard defines no variables of its own (grafana/dashboard.test.ts).
const RATE_INTERVAL = "1m";
const SUMS = 400;

const queries = panelsInRows(readDashboard("dma.json")).flatMap(({ panel }) =>
  (panel.targets ?? []).map((target) => ({
    panel: panel.title,
    refId: target.refId,
    promql: (target.expr ?? "").replaceAll("$__rate_interval", RATE_INTERVAL),
  })),
);

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheus}/api/v1/${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
}

async function query(promql: string): Promise<Series[]> {
  return (await api<{ result: Series[] }>(`query?query=${encodeURIComponent(promql)}`)).result;
}

async function deadLettered(): Promise<number> {
  return Number((await query("sum(service_b_events_dead_lettered_total)"))[0]?.value[1] ?? 0);
}

/** A message Service B cannot parse: it must end in user-events.dlq. */
async function sendPoisonMessage(): Promise<void> {
  const producer = kafkaClient(settings, "dashboard-test").producer();
  await producer.connect();
  try {
    await producer.send({ topic: EVENTS_TOPIC, messages: [{ key: "dashboard-test", value: "not JSON" }] });
  } finally {
    await producer.disconnect();
  }
}

/** Sums through nginx, half over HTTP and half over gRPC, until Service B has applied them all. */
async function sumThroughThePipeline(count: number): Promise<void> {
  const appliedBefore = (await pipeline.total()).eventsApplied;
  const numbers = Array.from({ length: count }, (_, i) => i);
  const answers = await inParallel(numbers, 16, (i) =>
    i % 2 === 0 ? pipeline.sumOverHttp(i, 1) : pipeline.sumOverGrpc(i, 1),
  );
  expect(answers.filter((answer) => !answer.ok)).toEqual([]);
  await waitFor(
    "Service B to apply the sums",
    async () => (await pipeline.total()).eventsApplied >= appliedBefore + count,
  );
}

async function everyTargetScraped(): Promise<void> {
  const since = Date.now();
  await waitFor("a scrape of every target", async () => {
    const { activeTargets } = await api<{ activeTargets: Array<{ lastScrape: string }> }>("targets");
    return activeTargets.every((target) => Date.parse(target.lastScrape) > since);
  });
}

beforeAll(async () => {
  // rate() needs samples of a series from before and after the load. Some series only appear with
  // the first events (Kafka's per-topic counters, Debezium's streaming metrics), so a few sums and a
  // scrape come first, as on any pipeline that has been running.
  await sumThroughThePipeline(20);
  await everyTargetScraped();

  const deadLetteredBefore = await deadLettered();
  await sumThroughThePipeline(SUMS);
  await sendPoisonMessage();
  await waitFor("Prometheus to see the dead letter", async () => (await deadLettered()) > deadLetteredBefore);
  await everyTargetScraped();
}, 180_000);

afterAll(() => pipeline.close());

for (const { panel, refId, promql } of queries) {
  it(`panel "${panel}" query ${refId} returns numbers on a loaded pipeline`, async () => {
    expect(promql, "a variable the test cannot fill").not.toContain("$");
    const series = await query(promql);
    expect(series.length, promql).toBeGreaterThan(0);
    expect(
      series.some(({ value }) => Number.isFinite(Number(value[1]))),
      `${promql} has only NaN or Inf`,
    ).toBe(true);
  });
}

it("reads only metrics that some scrape target exports", async () => {
  const exported = new Set(await api<string[]>("label/__name__/values"));
  const used = new Set(queries.flatMap(({ promql }) => metricNames(promql)));
  expect(used.size).toBeGreaterThan(0);
  expect([...used].filter((metric) => !exported.has(metric))).toEqual([]);
});
