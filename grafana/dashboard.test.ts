import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type DatasourceRef, GRAFANA_DIR, metricNames, type Panel, panelsInRows, readDashboard } from "./dashboard.js";

// Checked field by field: Grafana publishes its classic dashboard model as CUE, and the JSON schema
// generated from it (grafana-foundation-sdk) rejects what Grafana itself writes (a threshold's base
// step is {"value": null}), so the checks below are the ones Grafana's loader and this project rely on.

const dashboard = readDashboard("dma.json");
const placed = panelsInRows(dashboard);
const rows = (dashboard.panels ?? []).filter((panel) => panel.type === "row");

/** Grafana's unit ids this dashboard may use (packages/grafana-data/src/valueFormats/categories.ts). */
const GRAFANA_UNITS = new Set(["none", "short", "percentunit", "s", "ms", "bytes", "Bps", "reqps", "cps", "ops"]);

/** Grafana's global variables; a dashboard variable would be listed in templating.list. */
const BUILT_IN_VARIABLES = new Set(["__rate_interval", "__interval", "__range"]);

function provisionedDatasources(): Array<{ uid: string; type: string }> {
  const folder = join(GRAFANA_DIR, "provisioning", "datasources");
  return readdirSync(folder)
    .filter((file) => /\.ya?ml$/.test(file))
    .flatMap((file) => parse(readFileSync(join(folder, file), "utf8")).datasources ?? []);
}

/** Every `datasource` object anywhere in the dashboard: on panels, rows and queries. */
function datasourceRefs(node: unknown, path = "dashboard"): Array<{ path: string; ref: DatasourceRef }> {
  if (Array.isArray(node)) return node.flatMap((item, i) => datasourceRefs(item, `${path}[${i}]`));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === "datasource"
      ? [{ path: `${path}.datasource`, ref: value as DatasourceRef }]
      : datasourceRefs(value, `${path}.${key}`),
  );
}

function overlap(a: Panel, b: Panel): boolean {
  const [p, q] = [a.gridPos, b.gridPos];
  if (!p || !q) return false;
  return p.x < q.x + q.w && q.x < p.x + p.w && p.y < q.y + q.h && q.y < p.y + p.h;
}

describe("the DMA Grafana dashboard (grafana/dashboards/dma.json)", () => {
  it("has the top-level fields Grafana needs to load it, for Grafana 11 or later", () => {
    expect(dashboard.title).toBe("DMA");
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    // 39 is Grafana 11.0's schema version; older Grafana would try to migrate the JSON.
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(dashboard.panels?.length).toBeGreaterThan(0);
    expect(dashboard.templating?.list).toBeInstanceOf(Array);
    expect(dashboard.annotations?.list).toBeInstanceOf(Array);
    expect(dashboard.time).toEqual({ from: expect.any(String), to: expect.any(String) });
  });

  it("has a uid no other dashboard in grafana/dashboards uses", () => {
    const files = readdirSync(join(GRAFANA_DIR, "dashboards")).filter((file) => file.endsWith(".json"));
    const uids = files.map((file) => readDashboard(file).uid);
    expect(uids.filter((uid) => uid === dashboard.uid)).toHaveLength(1);
    expect(new Set(uids).size).toBe(files.length);
  });

  it("gives every panel and row an id of its own", () => {
    const ids = [...rows, ...placed.map(({ panel }) => panel)].map((panel) => panel.id);
    expect(ids.every(Number.isInteger)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives every panel a type, a title, a description, a place on the grid, a unit and thresholds", () => {
    for (const { panel } of placed) {
      const name = `panel ${panel.id} "${panel.title}"`;
      expect(panel.type, name).toMatch(/^(timeseries|stat)$/);
      expect(panel.title, name).toMatch(/\S/);
      expect(panel.description?.length ?? 0, name).toBeGreaterThan(40);
      const grid = panel.gridPos;
      expect(grid && [grid.x, grid.y, grid.w, grid.h].every(Number.isInteger), name).toBe(true);
      expect(grid && grid.w > 0 && grid.h > 0 && grid.x >= 0 && grid.x + grid.w <= 24, name).toBe(true);
      const defaults = panel.fieldConfig?.defaults;
      expect(GRAFANA_UNITS.has(defaults?.unit ?? ""), `${name} unit ${defaults?.unit}`).toBe(true);
      const steps = defaults?.thresholds?.steps ?? [];
      expect(defaults?.thresholds?.mode, name).toBe("absolute");
      // Grafana's base step has no value (minus infinity); the others rise.
      expect(steps[0]?.value, name).toBeNull();
      const levels = steps.slice(1).map((step) => step.value);
      expect(
        levels.every((value) => typeof value === "number"),
        name,
      ).toBe(true);
      expect(levels, name).toEqual([...levels].sort((a, b) => Number(a) - Number(b)));
      expect(
        steps.every((step) => /^[a-z]+$/.test(step.color)),
        name,
      ).toBe(true);
    }
  });

  it("queries Prometheus in every panel: each query has an expression and a refId unique in its panel", () => {
    for (const { panel } of placed) {
      const targets = panel.targets ?? [];
      expect(targets.length, `panel "${panel.title}"`).toBeGreaterThan(0);
      expect(
        targets.every((target) => /\S/.test(target.expr ?? "")),
        `panel "${panel.title}"`,
      ).toBe(true);
      const refIds = targets.map((target) => target.refId);
      expect(
        refIds.every((refId) => /^[A-Z]$/.test(refId ?? "")),
        `panel "${panel.title}"`,
      ).toBe(true);
      expect(new Set(refIds).size, `panel "${panel.title}"`).toBe(refIds.length);
    }
  });

  it("points every datasource reference at a datasource provisioned in grafana/provisioning/datasources", () => {
    const provisioned = provisionedDatasources();
    expect(provisioned).toContainEqual(expect.objectContaining({ uid: "prometheus", type: "prometheus" }));
    const refs = datasourceRefs(dashboard);
    // Each panel and each of its queries names its datasource.
    const queries = placed.flatMap(({ panel }) => panel.targets ?? []);
    expect(refs.length).toBe(placed.length + queries.length);
    for (const { path, ref } of refs) {
      expect(
        provisioned.some((source) => source.uid === ref.uid && source.type === ref.type),
        path,
      ).toBe(true);
    }
  });

  it("uses $__rate_interval for every range window and no variable it does not define", () => {
    const defined = new Set([...BUILT_IN_VARIABLES, ...(dashboard.templating?.list ?? []).map((v) => v.name)]);
    for (const { panel } of placed) {
      for (const { expr = "" } of panel.targets ?? []) {
        for (const [window] of expr.matchAll(/\[[^\]]*\]/g)) expect(window, expr).toBe("[$__rate_interval]");
        for (const [, braced, bare] of expr.matchAll(/\$(?:\{(\w+)\}|(\w+))/g)) {
          expect(defined.has(braced ?? bare ?? ""), expr).toBe(true);
        }
      }
    }
  });

  it("lays panels out under their own row, without overlaps", () => {
    expect(dashboard.panels?.[0]?.type).toBe("row");
    const rowY = rows.map((row) => row.gridPos?.y ?? Number.NaN);
    for (const { row, panel } of placed) {
      const index = rows.findIndex((candidate) => candidate.title === row);
      const top = panel.gridPos?.y ?? Number.NaN;
      expect(top, `panel "${panel.title}"`).toBeGreaterThan(rowY[index] ?? Number.NaN);
      expect(top + (panel.gridPos?.h ?? 0), `panel "${panel.title}"`).toBeLessThanOrEqual(
        rowY[index + 1] ?? Number.POSITIVE_INFINITY,
      );
    }
    const all = placed.map(({ panel }) => panel);
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) expect(overlap(a, b), `"${a.title}" and "${b.title}"`).toBe(false);
    }
  });

  // What each row is about: the metrics it must show, and the components its metrics may come from.
  const ROWS: Array<{ title: string; shows: string[]; from: RegExp }> = [
    {
      title: "Ingress",
      shows: [
        "nginx_http_requests_total",
        "service_a_requests_total",
        "service_a_request_duration_seconds_bucket",
        "service_a_group_commit_batch_size_bucket",
        "service_a_group_commit_wait_seconds_bucket",
        "service_a_group_commit_queue_depth",
        "service_a_group_commit_refused_total",
        "service_a_idempotent_replays_total",
        "service_a_database_errors_total",
      ],
      from: /^(nginx|service_a)_/,
    },
    {
      title: "Outbox and CDC",
      shows: [
        "debezium_streaming_connected",
        "debezium_streaming_millisecondsbehindsource",
        "debezium_streaming_queueremainingcapacity",
        "debezium_streaming_totalnumberofeventsseen",
        "pg_replication_slot_retained_wal_bytes",
        "service_a_event_stream_wal_fraction",
      ],
      // Service A's own read of Debezium's slot: what makes it refuse sums.
      from: /^(debezium_|kafka_connect_|pg_replication_slot_|service_a_event_stream_)/,
    },
    {
      title: "Kafka",
      shows: [
        "kafka_server_brokertopicmetrics_messagesinpersec_total",
        "kafka_server_brokertopicmetrics_bytesoutpersec_total",
        "kafka_server_replicamanager_underreplicatedpartitions",
        "service_b_consumer_lag",
      ],
      from: /^(kafka_server_|kafka_controller_|service_b_consumer_lag$)/,
    },
    {
      title: "Service B",
      shows: [
        "service_b_events_consumed_total",
        "service_b_events_applied_total",
        "service_b_events_duplicate_total",
        "service_b_events_dead_lettered_total",
        "service_b_batch_size_bucket",
        "service_b_batch_duration_seconds_bucket",
        "service_b_end_to_end_latency_seconds_bucket",
        "service_b_running_total",
        "service_b_replica_lag_seconds",
        "service_b_replica_up",
        "service_b_partition_gap",
        "service_b_partition_too_old_event",
        "service_b_log_replaced_timestamp_seconds",
      ],
      from: /^service_b_/,
    },
    {
      title: "Reconciler",
      shows: [
        "reconciler_missing_after_repair_events",
        "reconciler_missing_events",
        "reconciler_late_events",
        "reconciler_resent_events_total",
        "reconciler_pass_failures_total",
        "reconciler_oldest_unchecked_window_age_seconds",
        "reconciler_last_pass_timestamp_seconds",
      ],
      from: /^reconciler_/,
    },
    {
      title: "Databases",
      shows: ["pg_up", "pg_stat_activity_count", "pg_stat_replication_pg_wal_lsn_diff", "pg_replication_slot_active"],
      from: /^pg_/,
    },
  ];

  it("has the rows Ingress, Outbox and CDC, Kafka, Service B, Reconciler, Databases, in that order", () => {
    expect(rows.map((row) => row.title)).toEqual(ROWS.map((row) => row.title));
  });

  it.each(ROWS)("row $title shows what it is for, from the components it is about", ({ title, shows, from }) => {
    const exprs = placed.filter(({ row }) => row === title).flatMap(({ panel }) => panel.targets ?? []);
    const metrics = new Set(exprs.flatMap((target) => metricNames(target.expr ?? "")));
    expect([...metrics].filter((metric) => !from.test(metric))).toEqual([]);
    expect(shows.filter((metric) => !metrics.has(metric))).toEqual([]);
  });
});

describe("metricNames", () => {
  it("finds the metrics of an expression, not its functions, labels, windows or keywords", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, transport) (rate(a_bucket{route=~"x|y"}[$__rate_interval]))) > 1e3 and on (job) b_total offset 5m',
      ),
    ).toEqual(["a_bucket", "b_total"]);
    expect(metricNames("1 - sum(rate(up[1m])) / count(up)")).toEqual(["up"]);
  });
});
