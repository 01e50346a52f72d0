import { connect, createServer } from "node:net";
import { freePort, waitFor } from "@sum/runtime";
import pino from "pino";
import { expect, inject, it } from "vitest";
import { kafkaClient } from "../src/transport/kafka/kafka-client.js";
import { kafkaPipeline } from "../src/transport/kafka/kafka-consumer.js";
import { uniqueNames } from "../support/events.js";
import { createTopics } from "../support/harness.js";

const brokers = inject("kafkaBrokers");

it("the consumer lag can be read again after the admin client's first connect failed", async () => {
  const names = uniqueNames("admin");
  await createTopics(brokers, names);
  // Nothing listens on the bootstrap address at first; later a forwarder to the broker does.
  const port = await freePort();
  const [brokerHost = "", brokerPort = ""] = (brokers[0] ?? "").split(":");
  const logger = pino({ level: "silent" });
  const pipeline = kafkaPipeline({
    kafka: kafkaClient({ brokers: [`127.0.0.1:${port}`], clientId: "admin-reconnect-test", logger }),
    consumer: {
      groupId: names.group,
      sessionTimeout: 10_000,
      minBytes: 1,
      maxWaitTimeInMs: 100,
      maxBytes: 1_048_576,
      maxBytesPerPartition: 262_144,
    },
    topic: names.topic,
    sliceSize: 100,
    applyConcurrency: 1,
    maxBackoffMs: 500,
    offsetCommitIntervalMs: 500,
    logger,
    applySlice: async () => "applied" as const,
    onApplyFailure: () => undefined,
    positions: {
      appliedPosition: async () => undefined,
      startAgainOnNewLog: async () => true,
      onGap: () => undefined,
      onLogReplaced: () => undefined,
      onCatchingUp: () => undefined,
    },
  });
  const forwarder = createServer((socket) => {
    const upstream = connect(Number(brokerPort), brokerHost);
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  try {
    await expect(pipeline.lag()).rejects.toThrow();
    await new Promise<void>((resolve) => forwarder.listen(port, "127.0.0.1", resolve));
    await waitFor(
      "the lag of each of the topic's 6 partitions, read through the admin client",
      async () => (await pipeline.lag()).size === 6,
      60_000,
    );
  } finally {
    await pipeline.stop();
    forwarder.close();
  }
});
