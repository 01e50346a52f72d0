import type { Settings } from "./settings.js";

/** What `make status` reads from Prometheus: one line per hop, from ingress to the total. */
const QUERIES: Array<{ label: string; query: string; unit: (value: number) => string }> = [
  { label: "requests/s into Service A", query: "sum(rate(service_a_requests_total[1m]))", unit: (v) => v.toFixed(1) },
  {
    label: "refused or failed/s",
    query: 'sum(rate(service_a_requests_total{status=~"5..|UNAVAILABLE|UNKNOWN|INTERNAL"}[1m])) or vector(0)',
    unit: (v) => v.toFixed(1),
  },
  {
    label: "Debezium behind source",
    query: "max(debezium_streaming_millisecondsbehindsource)",
    unit: (v) => `${v} ms`,
  },
  {
    label: "WAL kept by Debezium's slot",
    query: 'max(pg_replication_slot_retained_wal_bytes{slot_type="logical"})',
    unit: (v) => `${(v / 1024 / 1024).toFixed(1)} MiB`,
  },
  {
    label: "Service A instances refusing sums",
    query: 'count(max by (instance) (service_a_event_stream_state{state!="ok"}) == 1) or vector(0)',
    unit: (v) => (v === 0 ? "none" : `${v}: Debezium's slot is near its WAL cap, lost or missing (see above)`),
  },
  { label: "Service B consumer lag", query: "sum(service_b_consumer_lag)", unit: (v) => `${v} messages` },
  {
    label: "partitions stopped at a gap",
    query: "count(max by (partition) (service_b_partition_gap) == 1) or vector(0)",
    unit: (v) => (v === 0 ? "none" : `${v}: records deleted before they were applied (Service B's /readyz says which)`),
  },
  {
    label: "partitions stopped at an old event",
    query: "count(max by (partition) (service_b_partition_too_old_event) == 1) or vector(0)",
    unit: (v) =>
      v === 0 ? "none" : `${v}: an event older than PROCESSED_RETENTION_DAYS (Service B's /readyz says which)`,
  },
  {
    label: "Kafka logs replaced (24 h)",
    query: "count(time() - max by (partition) (service_b_log_replaced_timestamp_seconds > 0) < 86400) or vector(0)",
    unit: (v) =>
      v === 0
        ? "none"
        : `${v} partition(s): consumed again from the new log's start; events not yet applied before it are lost (Service B's log says which)`,
  },
  { label: "events applied/s", query: "sum(rate(service_b_events_applied_total[1m]))", unit: (v) => v.toFixed(1) },
  {
    label: "end-to-end p99 (outbox to total)",
    query: "histogram_quantile(0.99, sum by (le) (rate(service_b_end_to_end_latency_seconds_bucket[5m])))",
    unit: (v) => (Number.isNaN(v) ? "no events in 5 min" : `${(v * 1000).toFixed(0)} ms`),
  },
  { label: "dead letters", query: "sum(service_b_events_dead_lettered_total)", unit: (v) => v.toFixed(0) },
  {
    label: "replica lag",
    query: "max(service_b_replica_lag_seconds)",
    unit: (v) => (Number.isNaN(v) ? "unknown: Service B cannot read the replica" : `${v.toFixed(1)} s`),
  },
];

/** What `make status` reads of the reconciler (reconciler/src/metrics.ts), one instant query each. */
const RECONCILER_QUERIES = {
  up: 'max(up{job="reconciler"})',
  // 1 when Prometheus has no reconciler target at all, which `up` alone cannot tell from no answer.
  unscraped: 'absent(up{job="reconciler"})',
  missing: "max(reconciler_missing_events)",
  missingAfterRepair: "max(reconciler_missing_after_repair_events)",
  late: "max(reconciler_late_events)",
  // A counter's increase needs two samples: 0 until then, as no re-send was seen.
  resent: "sum(increase(reconciler_resent_events_total[1h])) or vector(0)",
  // The timestamp is 0 until a first pass ends: no answer then.
  sinceLastPass: "time() - max(reconciler_last_pass_timestamp_seconds > 0)",
};

type ReconcilerFigures = { [name in keyof typeof RECONCILER_QUERIES]: number | undefined };

/** The reconciler's line: what it found in its last pass, or why there is nothing to show. */
function reconcilerStatus(figures: ReconcilerFigures): string {
  const { up, unscraped, missing, missingAfterRepair, late, resent, sinceLastPass } = figures;
  if (unscraped === 1) return "not scraped: Prometheus has no reconciler target";
  if (up === undefined) return "no data";
  if (up === 0) return "down: Prometheus cannot scrape its metrics";
  if (sinceLastPass === undefined) return "running, no pass ended yet";
  const count = (value: number | undefined) => (value === undefined ? "?" : value.toFixed(0));
  const afterRepair =
    missingAfterRepair !== undefined && missingAfterRepair > 0
      ? ` (${count(missingAfterRepair)} still missing after a re-send: its log names the minutes)`
      : "";
  // Prometheus's clock and the reconciler's may be a host apart: a pass can seem to end a little ahead.
  const ago = Math.max(0, sinceLastPass).toFixed(0);
  return `${count(missing)} missing${afterRepair}, ${count(late)} late, ${count(resent)} re-sent in 1 h (last pass ${ago} s ago)`;
}

async function instant(prometheus: string, query: string): Promise<number | undefined> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`, {
    signal: AbortSignal.timeout(3000),
  });
  const body = (await response.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const value = body.data?.result?.[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

/** The pipeline's figures, or a line saying why there are none. */
export async function pipelineStatus(settings: Settings): Promise<string[]> {
  const prometheus = `http://127.0.0.1:${settings.PROMETHEUS_PORT}`;
  const lines: string[] = [];
  try {
    const total = (await (
      await fetch(`http://127.0.0.1:${settings.SERVICE_B_PORT}/api/total?consistency=strong`, {
        signal: AbortSignal.timeout(3000),
      })
    ).json()) as { total: string; events_applied: number };
    lines.push(`${"running total".padEnd(34)} ${total.total} (${total.events_applied} events)`);
  } catch {
    lines.push(`${"running total".padEnd(34)} unavailable (Service B does not answer)`);
  }
  for (const { label, query, unit } of QUERIES) {
    const value = await instant(prometheus, query).catch(() => undefined);
    lines.push(`${label.padEnd(34)} ${value === undefined ? "no data" : unit(value)}`);
  }
  const figures = Object.fromEntries(
    await Promise.all(
      Object.entries(RECONCILER_QUERIES).map(async ([name, query]) => [
        name,
        await instant(prometheus, query).catch(() => undefined),
      ]),
    ),
  ) as ReconcilerFigures;
  lines.push(`${"reconciler".padEnd(34)} ${reconcilerStatus(figures)}`);
  return lines;
}
