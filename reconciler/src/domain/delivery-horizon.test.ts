import { describe, expect, it } from "vitest";
import { DeliveryHorizon, type DeliverySample, type PartitionLog } from "./delivery-horizon.js";

const logs = (...ends: Array<[number, number]>) =>
  new Map<number, PartitionLog>(
    ends.map(([start, end], partition) => [partition, { start: BigInt(start), end: BigInt(end) }]),
  );
const applied = (...offsets: number[]) => new Map(offsets.map((offset, partition) => [partition, BigInt(offset)]));

function sample(
  at: number,
  walLsn: number,
  confirmedLsn: number | null,
  l: Map<number, PartitionLog>,
  a: Map<number, bigint>,
): DeliverySample {
  return {
    at,
    walLsn: BigInt(walLsn),
    confirmedLsn: confirmedLsn === null ? null : BigInt(confirmedLsn),
    logs: l,
    applied: a,
  };
}

describe("DeliveryHorizon", () => {
  it("moves to a look's time once Debezium confirmed past its WAL position and Service B applied what Kafka then held", () => {
    const horizon = new DeliveryHorizon(600_000);
    horizon.observe(sample(1000, 100, 50, logs([0, 10]), applied(9)));
    expect(horizon.horizon).toBe(Number.NEGATIVE_INFINITY);
    // Debezium confirmed past 100: Kafka then ends at 20; Service B has applied up to 14.
    horizon.observe(sample(2000, 200, 150, logs([0, 20]), applied(14)));
    expect(horizon.horizon).toBe(Number.NEGATIVE_INFINITY);
    horizon.observe(sample(3000, 300, 150, logs([0, 25]), applied(19)));
    expect(horizon.horizon).toBe(1000);
  });

  it("waits for Connect for as long as it is behind: a Connect outage re-sends nothing", () => {
    const horizon = new DeliveryHorizon(1000);
    for (let at = 1000; at <= 3_600_000; at += 10_000) horizon.observe(sample(at, at, 0, logs([0, 5]), applied(4)));
    expect(horizon.horizon).toBe(Number.NEGATIVE_INFINITY);
  });

  it("waits for Service B at most applyWaitMs after Kafka had the events", () => {
    const horizon = new DeliveryHorizon(60_000);
    horizon.observe(sample(1000, 100, 100, logs([0, 50]), applied(10)));
    horizon.observe(sample(50_000, 200, 200, logs([0, 60]), applied(10)));
    expect(horizon.horizon).toBe(Number.NEGATIVE_INFINITY);
    horizon.observe(sample(61_000, 300, 300, logs([0, 70]), applied(10)));
    expect(horizon.horizon).toBe(1000);
  });

  it("judges a replaced log by what the new log holds, so a lost log does not stop the horizon", () => {
    const horizon = new DeliveryHorizon(600_000);
    horizon.observe(sample(1000, 100, 100, logs([0, 500]), applied(200)));
    // Kafka's disk lost: the log starts again at 0; Service B applies the new log's 30 events.
    horizon.observe(sample(2000, 200, 100, logs([0, 30]), applied(29)));
    expect(horizon.horizon).toBe(1000);
  });

  it("counts an empty partition as applied, and every partition must be", () => {
    const horizon = new DeliveryHorizon(600_000);
    horizon.observe(sample(1000, 100, 100, logs([7, 7], [0, 10]), applied(-1, 8)));
    expect(horizon.horizon).toBe(Number.NEGATIVE_INFINITY);
    horizon.observe(sample(2000, 200, 100, logs([7, 7], [0, 10]), applied(-1, 9)));
    expect(horizon.horizon).toBe(1000);
  });

  it("never moves back", () => {
    const horizon = new DeliveryHorizon(600_000);
    horizon.observe(sample(5000, 100, 100, logs([0, 1]), applied(0)));
    horizon.observe(sample(6000, 200, 100, logs([0, 1]), applied(0)));
    expect(horizon.horizon).toBe(5000);
    horizon.observe(sample(7000, 300, null, logs([0, 1]), applied(0)));
    expect(horizon.horizon).toBe(5000);
  });
});
