/**
 * The capacity model of docs/scaling.md (capacity-cli.ts renders it): cores and pods per component
 * for 10k, 50k and 200k sums/s, and the rate at which each part that cannot simply add pods stops
 * scaling.
 *
 * Measured: each component's CPU seconds per 1,000 sums, from the closed-loop HTTP phase with the
 * highest rate. Everything in ASSUMED is assumed, named so docs/scaling.md can say so.
 */
import { TOPICS } from "@sum/contract";
import type { BenchReport } from "@sum/proof/bench";

export const RATES = [10_000, 50_000, 200_000];

export const ASSUMED = {
  /** Cores are planned at this utilisation (Service A's autoscaler target): room for spikes and failovers. */
  utilisation: 0.7,
  /** A Node.js service uses about one core (one event loop), so a pod gets one. */
  nodeCoresPerPod: 1,
  kafkaCoresPerBroker: 4,
  connectCoresPerWorker: 2,
  /** The largest primary a PostgreSQL cluster is given: one writer cannot be spread over machines. */
  maxPrimaryCores: 32,
  /** A Debezium PostgreSQL connector is one task reading one replication stream: about one core. */
  connectorTaskCores: 1,
  /** Followers fetch and write what the leader writes: broker CPU grows with the replication factor. */
  kafkaReplication: 3,
  /** Each standby costs what the measured streaming replica does per sum. */
  standbysPerCluster: 2,
  partitions: TOPICS.find((topic) => topic.topic === "user-events")?.numPartitions ?? 1,
};

/** The components a sum passes through, from the native stack's process names. */
const TIERS: Array<{ tier: string; matches: (component: string) => boolean }> = [
  { tier: "ingress (nginx)", matches: (c) => c === "nginx" },
  { tier: "Service A", matches: (c) => /^service-a-\d+$/.test(c) },
  { tier: "outbox PostgreSQL", matches: (c) => c === "postgres-outbox" },
  { tier: "Kafka Connect (Debezium)", matches: (c) => c === "kafka-connect" },
  { tier: "Kafka", matches: (c) => c === "kafka" },
  { tier: "Service B", matches: (c) => c === "service-b" },
  { tier: "totals PostgreSQL (leader)", matches: (c) => c === "postgres-leader" },
  { tier: "totals PostgreSQL (replica)", matches: (c) => c === "postgres-replica" },
];

export interface TierCost {
  tier: string;
  cpuPer1000: number;
}

export interface Limit {
  part: string;
  sumsPerSecond: number;
  why: string;
  beyond: string;
}

/** The closed-loop HTTP phase with the highest rate: the per-sum costs at full load. */
export function measuredPhase(report: BenchReport) {
  const phases = report.phases.filter((phase) => phase.transport === "http" && phase.rate === undefined);
  const best = phases.sort((a, b) => b.perSecond - a.perSecond)[0];
  if (!best) throw new Error("the report has no closed-loop HTTP phase");
  return best;
}

export function tierCosts(report: BenchReport): TierCost[] {
  const { cpuPer1000 } = measuredPhase(report);
  return TIERS.map(({ tier, matches }) => ({
    tier,
    cpuPer1000: Object.entries(cpuPer1000)
      .filter(([component]) => matches(component))
      .reduce((total, [, seconds]) => total + seconds, 0),
  }));
}

const cost = (costs: TierCost[], tier: string) => costs.find((c) => c.tier === tier)?.cpuPer1000 ?? 0;
/** Sums per second `cores` cores carry at the planned utilisation. */
const rateOf = (cores: number, cpuPer1000: number) => (cores * ASSUMED.utilisation * 1000) / cpuPer1000;

export function limits(costs: TierCost[]): Limit[] {
  return [
    {
      part: "Debezium connector",
      sumsPerSecond: rateOf(ASSUMED.connectorTaskCores, cost(costs, "Kafka Connect (Debezium)")),
      why: "one task per database (one logical replication stream), whatever tasks.max says",
      beyond: "several outbox databases, each with its own connector; Service A picks one by the sum's key",
    },
    {
      part: "outbox PostgreSQL",
      sumsPerSecond: rateOf(ASSUMED.maxPrimaryCores, cost(costs, "outbox PostgreSQL")),
      why: "one writer: every commit and all WAL go through the primary",
      beyond: "the same sharding: several outbox clusters, each with its connector",
    },
    {
      part: "Service B",
      sumsPerSecond: ASSUMED.partitions * rateOf(ASSUMED.nodeCoresPerPod, cost(costs, "Service B")),
      why: `at most one consumer per partition (${ASSUMED.partitions}), about one core each`,
      beyond: "more partitions (a topic can grow, not shrink; keys move), then more Service B pods",
    },
    {
      part: "totals PostgreSQL (leader)",
      sumsPerSecond: rateOf(ASSUMED.maxPrimaryCores, cost(costs, "totals PostgreSQL (leader)")),
      why: "one writer: every event's id is inserted there (already one total row per partition, no hot row)",
      beyond: "totals databases by event-id range, each with its partitions' subtotals and ids",
    },
  ];
}

/** Cores and pods of one tier at `rate` sums/s, with production's replication. */
export function sizing(tier: TierCost, rate: number, costs: TierCost[]): { cores: number; pods: string } {
  const cores = (cpuPer1000: number) => (rate / 1000) * (cpuPer1000 / ASSUMED.utilisation);
  const pods = (total: number, perPod: number, minimum: number) => Math.max(minimum, Math.ceil(total / perPod));
  const byPart = new Map(limits(costs).map((limit) => [limit.part, limit.sumsPerSecond]));
  const shards = (...parts: string[]) => Math.max(...parts.map((part) => Math.ceil(rate / (byPart.get(part) ?? rate))));
  // Each outbox database has its own connector: the first of the two limits decides how many.
  const outboxShards = shards("Debezium connector", "outbox PostgreSQL");
  const standbys = cost(costs, "totals PostgreSQL (replica)") * ASSUMED.standbysPerCluster;
  const instances = 1 + ASSUMED.standbysPerCluster;
  const total = cores(tier.cpuPer1000);
  switch (tier.tier) {
    case "Kafka": {
      const replicated = cores(tier.cpuPer1000 * ASSUMED.kafkaReplication);
      return {
        cores: replicated,
        pods: `${pods(replicated, ASSUMED.kafkaCoresPerBroker, ASSUMED.kafkaReplication)} brokers`,
      };
    }
    case "Kafka Connect (Debezium)":
      return { cores: total, pods: `${outboxShards} connector(s), ${Math.max(2, outboxShards)} workers` };
    case "outbox PostgreSQL":
      return { cores: cores(tier.cpuPer1000 + standbys), pods: `${outboxShards} cluster(s) of ${instances}` };
    case "totals PostgreSQL (leader)":
      return { cores: cores(tier.cpuPer1000 + standbys), pods: `${shards(tier.tier)} cluster(s) of ${instances}` };
    case "totals PostgreSQL (replica)":
      return { cores: 0, pods: "with the leader" };
    case "Service B": {
      const partitions = Math.max(ASSUMED.partitions, shards(tier.tier) * ASSUMED.partitions);
      return { cores: total, pods: `${pods(total, ASSUMED.nodeCoresPerPod, 2)} (${partitions} partitions)` };
    }
    default:
      return { cores: total, pods: String(pods(total, ASSUMED.nodeCoresPerPod, 3)) };
  }
}
