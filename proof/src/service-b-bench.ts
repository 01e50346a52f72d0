/**
 * `make bench-service-b`: events applied per second by one Service B (a child process) from a topic
 * pre-filled with BENCH_EVENTS events (default 200,000), against a leader with fsync on and its
 * replica, and the p99 time to apply one slice and commit its offsets.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TemporaryKafka } from "@sum/native/temporary-kafka";
import { waitFor } from "@sum/runtime";
import { PASSWORDS, produce, ServiceBProcess, serviceEnv, sumEvent, uniqueNames } from "@sum/service-b/support";
import { SQL_FILES, TemporaryPostgres } from "@sum/test-support";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);

/** The smallest bucket bound under which `q` of the observations fall. */
function histogramQuantile(metricsText: string, name: string, q: number): number {
  const buckets = [...metricsText.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, "gm"))].map((m) => ({
    le: m[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[1]),
    count: Number(m[2]),
  }));
  const total = buckets.at(-1)?.count ?? 0;
  return buckets.find((b) => b.count >= q * total)?.le ?? Number.NaN;
}

async function main() {
  const kafka = await TemporaryKafka.start();
  const leader = await TemporaryPostgres.start({ durable: true, settings: ["max_wal_senders = 10"] });
  await leader.psqlFile(SQL_FILES.totalsDatabase, {
    owner_password: PASSWORDS.owner,
    service_password: PASSWORDS.service,
    reconciler_password: PASSWORDS.reconciler,
  });
  const replica = await leader.startReplica();
  const databases = { leader, replica, destroy: async () => undefined };
  try {
    const names = uniqueNames("bench");
    await kafka.createTopics([
      { topic: names.topic, numPartitions: 6 },
      { topic: names.dlq, numPartitions: 1 },
    ]);
    const fillStarted = performance.now();
    await produce(
      kafka.brokers,
      names.topic,
      Array.from({ length: EVENTS }, (_, i) => sumEvent(i, i % 1000)),
    );
    console.log(`pre-filled ${EVENTS} events in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);

    const started = performance.now();
    const service = await ServiceBProcess.start(serviceEnv(databases, kafka.brokers, names, { LOG_LEVEL: "error" }));
    const ready = performance.now();
    await waitFor("every event applied", async () => (await service.total()).events_applied >= EVENTS, 600_000);
    const seconds = (performance.now() - started) / 1000;
    const secondsFromReady = (performance.now() - ready) / 1000;
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    await service.stop();

    const result = {
      date: new Date().toISOString(),
      events: EVENTS,
      seconds,
      eventsPerSecond: EVENTS / seconds,
      eventsPerSecondFromReady: EVENTS / secondsFromReady,
      sliceP50Seconds: histogramQuantile(metrics, "service_b_batch_duration_seconds", 0.5),
      sliceP99Seconds: histogramQuantile(metrics, "service_b_batch_duration_seconds", 0.99),
      meanSlice: (() => {
        const sum = Number(/^service_b_batch_size_sum (\S+)/m.exec(metrics)?.[1]);
        const count = Number(/^service_b_batch_size_count (\S+)/m.exec(metrics)?.[1]);
        return sum / count;
      })(),
    };
    console.log("\nService B, one instance, from a pre-filled topic (6 partitions), leader with fsync on");
    console.table([
      {
        events: EVENTS,
        "seconds (incl. start)": result.seconds.toFixed(1),
        "events/s": Math.round(result.eventsPerSecond),
        "events/s once ready": Math.round(result.eventsPerSecondFromReady),
        "mean slice": result.meanSlice.toFixed(0),
        "slice p50 <= s": result.sliceP50Seconds,
        "slice p99 <= s": result.sliceP99Seconds,
      },
    ]);
    const dir = join(import.meta.dirname, "..", "..", "results");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "bench-service-b.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await replica.destroy();
    await leader.destroy();
    await kafka.destroy();
  }
}

await main();
