import type { Admin, ITopicConfig } from "kafkajs";
import { sleep } from "./wait.js";

/**
 * Creates topics (an existing one is left as it is) and waits until every partition has a leader
 * that the broker serves. kafkajs's own `waitForLeaders` gives up on "This server does not host
 * this topic-partition", which a KRaft broker answers until its metadata catches up with the
 * controller's, so the wait here treats every error as "not yet".
 */
export async function createTopicsAndWait(admin: Admin, topics: ITopicConfig[], timeoutMs = 60_000): Promise<void> {
  await admin.createTopics({ topics, waitForLeaders: false });
  const deadline = Date.now() + timeoutMs;
  const names = topics.map((t) => t.topic);
  const expected = new Map(topics.map((t) => [t.topic, t.numPartitions ?? 1]));
  for (;;) {
    const metadata = await admin.fetchTopicMetadata({ topics: names }).catch(() => undefined);
    const ready = metadata?.topics.every(
      (topic) =>
        topic.partitions.length >= (expected.get(topic.name) ?? 1) &&
        topic.partitions.every((p) => p.leader >= 0 && p.partitionErrorCode === 0),
    );
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for leaders of ${names.join(", ")}`);
    await sleep(100);
  }
}
