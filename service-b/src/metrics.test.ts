import { expect, it } from "vitest";
import { ServiceMetrics } from "./metrics.js";

// prom-client writes NaN as "Nan", which Prometheus reads as NaN (it ignores case there).
const NAN = /^service_b_replica_lag_seconds nan$/i;

const exposed = async (metrics: ServiceMetrics, name: string) =>
  (await metrics.registry.metrics())
    .split("\n")
    .filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));

it("the replica's lag is read at each scrape: NaN and service_b_replica_up 0 while it cannot be read, never the last figure", async () => {
  const metrics = new ServiceMetrics();
  expect(await exposed(metrics, "service_b_replica_lag_seconds")).toEqual([expect.stringMatching(NAN)]);
  expect(await exposed(metrics, "service_b_replica_up")).toEqual(["service_b_replica_up 0"]);
  let lag: number | undefined = 1.5;
  metrics.replicaLagFrom(() => lag);
  expect(await exposed(metrics, "service_b_replica_lag_seconds")).toEqual(["service_b_replica_lag_seconds 1.5"]);
  expect(await exposed(metrics, "service_b_replica_up")).toEqual(["service_b_replica_up 1"]);
  lag = 2.5;
  expect(await exposed(metrics, "service_b_replica_lag_seconds")).toEqual(["service_b_replica_lag_seconds 2.5"]);
  lag = undefined;
  expect(await exposed(metrics, "service_b_replica_lag_seconds")).toEqual([expect.stringMatching(NAN)]);
  expect(await exposed(metrics, "service_b_replica_up")).toEqual(["service_b_replica_up 0"]);
});

it("the consumer lag per partition disappears while it cannot be read, never showing the last figures", async () => {
  const metrics = new ServiceMetrics();
  metrics.recordConsumerLag(
    new Map([
      [0, 5],
      [1, 7],
    ]),
  );
  expect(await exposed(metrics, "service_b_consumer_lag")).toEqual([
    'service_b_consumer_lag{partition="0"} 5',
    'service_b_consumer_lag{partition="1"} 7',
  ]);
  metrics.recordConsumerLag(undefined);
  expect(await exposed(metrics, "service_b_consumer_lag")).toEqual([]);
  metrics.recordConsumerLag(new Map([[1, 2]]));
  expect(await exposed(metrics, "service_b_consumer_lag")).toEqual(['service_b_consumer_lag{partition="1"} 2']);
});
