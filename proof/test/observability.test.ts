import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { waitFor } from "@sum/runtime";
import { expect, inject, it } from "vitest";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const prometheus = `http://127.0.0.1:${settings.PROMETHEUS_PORT}`;

async function api<T>(path: string): Promise<T> {
  const response = await fetch(`${prometheus}/api/v1/${path}`);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== "success") throw new Error(`${path}: ${body.error}`);
  return body.data;
}

it("Prometheus scrapes every component, and every alert expression evaluates there on metrics that exist", async () => {
  // A little traffic first, so labelled series exist, then two scrapes.
  for (let i = 0; i < 5; i++) {
    await fetch(`http://127.0.0.1:${settings.NGINX_HTTP_PORT}/sum`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: i, b: 1 }),
    });
  }
  type Target = { labels: { job: string }; health: string; lastScrape: string };
  let jobs: Target[] = [];
  for (let scrape = 0; scrape < 2; scrape++) {
    const since = Date.now();
    await waitFor(
      "every target up and scraped again",
      async () => {
        jobs = (await api<{ activeTargets: Target[] }>("targets")).activeTargets;
        // Right after Prometheus starts its target list may still be empty, which `every` would accept.
        return jobs.length > 0 && jobs.every((t) => t.health === "up" && Date.parse(t.lastScrape) > since);
      },
      60_000,
    );
  }
  expect(new Set(jobs.map((t) => t.labels.job))).toEqual(
    new Set(["service-a", "service-b", "reconciler", "kafka", "kafka-connect", "postgres", "nginx", "prometheus"]),
  );
  expect(jobs.filter((t) => t.health !== "up")).toEqual([]);

  // The exporters reach what they export: every PostgreSQL and nginx itself.
  const up = await api<{ result: Array<{ value: [number, string] }> }>(
    `query?query=${encodeURIComponent("pg_up or nginx_up")}`,
  );
  expect(up.result.map((r) => r.value[1])).toEqual(["1", "1", "1", "1"]);
  const slot = await api<{ result: unknown[] }>(
    `query?query=${encodeURIComponent('pg_replication_slot_retained_wal_bytes{slot_name="outbox_slot"}')}`,
  );
  expect(slot.result).toHaveLength(1);

  const rules = await api<{ groups: Array<{ rules: Array<{ name: string; query: string; health: string }> }> }>(
    "rules",
  );
  const loaded = rules.groups.flatMap((g) => g.rules);

  const names = new Set(await api<string[]>("label/__name__/values"));
  const text = await readFile(join(REPO_ROOT, "prometheus", "alerts.yml"), "utf8");
  const alerts = [...text.matchAll(/^\s*- alert: /gm)].length;
  const expressions = [...text.matchAll(/expr: (\|\n((?: {10}.*\n)+)|.*)/g)].map((m) => (m[2] ?? m[1] ?? "").trim());
  // Every alert of alerts.yml is loaded, and each one's expression is read here.
  expect(loaded).toHaveLength(alerts);
  expect(expressions).toHaveLength(alerts);
  for (const expression of expressions) {
    await api(`query?query=${encodeURIComponent(expression)}`);
    const metrics =
      expression.match(
        /\b(?:service_[ab]_\w+|reconciler_\w+|kafka_\w+|debezium_\w+|pg_\w+|up)\b(?=\s*[{[)>=<]|\s*$|\s+(?:and|or|==|>|<))/g,
      ) ?? [];
    expect(metrics.length).toBeGreaterThan(0);
    for (const metric of metrics) expect(names, `${metric} in ${expression}`).toContain(metric);
  }
});

// The JMX exporters read only the MBeans their includeObjectNames allow (reading every MBean of the
// broker cost it 0.1 CPU-s per scrape): each rule must still find what it turns into a metric.
it.each([
  ["jmx-kafka.yml", () => settings.KAFKA_METRICS_PORT],
  ["jmx-connect.yml", () => settings.CONNECT_METRICS_PORT],
])("every rule of %s yields a metric from the live exporter", async (file, port) => {
  const rules = [...(await readFile(join(REPO_ROOT, "prometheus", file), "utf8")).matchAll(/^\s+name: (\S+)$/gm)];
  expect(rules.length).toBeGreaterThan(0);
  const scraped = await (await fetch(`http://127.0.0.1:${port()}/metrics`)).text();
  const names = scraped.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
  for (const [, name] of rules) {
    const [prefix] = (name as string).toLowerCase().split("$");
    expect(
      names.some((line) => line.startsWith(prefix as string)),
      `${file}: no metric from rule ${name}`,
    ).toBe(true);
  }
});
