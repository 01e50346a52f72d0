/**
 * The chart's Kafka users and their ACLs (templates/kafka-users.yaml) on a real broker that enforces
 * them as the chart's brokers do (a SCRAM-SHA-512 listener, simple authorization): each user makes
 * the calls its component makes, as kafkajs makes them, and is refused the ones it must not make.
 * (Connect's own client is Java; its calls are made here with the same ACL checks: produce, create
 * topics, describe their configs, join its group.)
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { TOPICS } from "@sum/contract";
import { REPO_ROOT } from "@sum/native/settings";
import { type AclResource, TemporaryKafka } from "@sum/native/temporary-kafka";
import { createTopicsAndWait } from "@sum/runtime";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type K8sObject, parseManifest, renderManifest } from "./chart.js";

const objects = parseManifest(renderManifest("small"));
const users = objects.filter((object) => object.kind === "KafkaUser");
const passwords = Object.fromEntries(users.map((user) => [user.metadata.name, randomUUID()]));
const [events, deadLetters] = TOPICS.map((topic) => topic.topic) as [string, string];

/** A Deployment's environment, by variable name. */
function environment(suffix: string) {
  const deployment = objects.find((o) => o.kind === "Deployment" && o.metadata.name.endsWith(suffix)) as K8sObject;
  const variables = deployment.spec.template.spec.containers[0].env as Array<{ name: string; value?: string }>;
  return Object.fromEntries(variables.map((variable) => [variable.name, variable.value ?? ""]));
}
const serviceB = environment("service-b");
const reconciler = environment("reconciler");
const connect = (objects.find((object) => object.kind === "KafkaConnect") as K8sObject).spec;
const connector = JSON.parse(readFileSync(join(REPO_ROOT, "debezium", "outbox-connector.json"), "utf8"));
/** Where Debezium writes its heartbeats: a topic Connect creates. */
const heartbeats = `${connector["topic.heartbeat.prefix"]}.${connector["topic.prefix"]}`;
/** kafkajs's ConfigResourceTypes.TOPIC (not importable here: kafkajs is no dependency of deploy/). */
const TOPIC_CONFIGS = 2;

let kafka: TemporaryKafka;
/** A client logged in as the chart's user of that name, with the password its Secret would hold. */
const as = (user: string) => kafka.scramClient(user, passwords[user] ?? "");
const refused = /not authorized|authorization failed/i;
// kafkajs reports a group it may not use (FindCoordinator answered GROUP_AUTHORIZATION_FAILED) as a
// coordinator not found; the same call for a group the user may use succeeds on the same broker.
const refusedGroup = /Failed to find group coordinator/;

beforeAll(async () => {
  kafka = await TemporaryKafka.start({ scramUsers: passwords });
  await kafka.createTopics(TOPICS);
  for (const user of users) {
    const acls = user.spec.authorization.acls as Array<{
      resource: { type: AclResource; name: string };
      operations: string[];
    }>;
    await kafka.allow(user.metadata.name, acls);
  }
}, 240_000);

afterAll(async () => {
  await kafka?.destroy();
});

describe("the chart's Kafka users on a broker enforcing their ACLs", () => {
  it("refuses a wrong password", async () => {
    const admin = kafka.scramClient(serviceB.KAFKA_SASL_USERNAME ?? "", "wrong").admin();
    await expect(admin.connect()).rejects.toThrow(/SASL SCRAM SHA512 authentication failed/);
  });

  it("lets Connect write the events (idempotently, as its producer does), create its heartbeat and internal topics and join its group, but not write dead letters", async () => {
    const client = as("sum-connect-kafka");
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const admin = client.admin();
    await admin.connect();
    try {
      await producer.send({ topic: events, messages: [{ key: "k", value: "from connect" }] });
      await expect(producer.send({ topic: deadLetters, messages: [{ value: "x" }] })).rejects.toThrow(refused);
      const internal = [connect.configStorageTopic, connect.offsetStorageTopic, connect.statusStorageTopic];
      await createTopicsAndWait(
        admin,
        [...internal, heartbeats].map((topic) => ({ topic })),
      );
      // As Connect checks that its internal topics are compacted.
      const described = await admin.describeConfigs({
        includeSynonyms: false,
        resources: internal.map((name) => ({ type: TOPIC_CONFIGS, name })),
      });
      expect(described.resources.map((resource) => resource.errorCode)).toEqual([0, 0, 0]);
      const consumer = client.consumer({ groupId: connect.groupId });
      await consumer.connect();
      let joined = false;
      consumer.on(consumer.events.GROUP_JOIN, () => {
        joined = true;
      });
      await consumer.subscribe({ topic: connect.configStorageTopic });
      await consumer.run({ eachMessage: async () => undefined });
      await vi.waitFor(() => expect(joined, "Connect's member in its group").toBe(true), {
        timeout: 60_000,
        interval: 100,
      });
      await consumer.disconnect();
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  }, 120_000);

  it("lets Service B read the events in its group, commit and read the group's offsets and the log's bounds, and write dead letters (idempotently, as it does), but not write the events or use another group", async () => {
    const client = as(serviceB.KAFKA_SASL_USERNAME ?? "");
    const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 });
    const consumer = client.consumer({ groupId: serviceB.KAFKA_GROUP_ID ?? "" });
    const admin = client.admin();
    await Promise.all([producer.connect(), consumer.connect(), admin.connect()]);
    try {
      const writer = as("sum-connect-kafka").producer();
      await writer.connect();
      await writer.send({ topic: events, messages: [{ key: "k", value: "an event" }] });
      await writer.disconnect();
      const received: string[] = [];
      await consumer.subscribe({ topic: serviceB.KAFKA_TOPIC ?? "", fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
          received.push(message.value?.toString() ?? "");
        },
      });
      await vi.waitFor(() => expect(received, "the event Connect wrote, read in Service B's group").not.toEqual([]), {
        timeout: 60_000,
        interval: 100,
      });
      expect(await admin.fetchTopicOffsets(serviceB.KAFKA_TOPIC ?? "")).toHaveLength(6);
      // Committed before the message counted as received: the group's offsets hold it.
      const [committed] = await admin.fetchOffsets({
        groupId: serviceB.KAFKA_GROUP_ID ?? "",
        topics: [serviceB.KAFKA_TOPIC ?? ""],
      });
      expect((committed?.partitions ?? []).some((p) => Number(p.offset) > 0)).toBe(true);
      await producer.send({ topic: serviceB.KAFKA_DLQ_TOPIC ?? "", acks: -1, messages: [{ value: "poison" }] });
      await expect(producer.send({ topic: events, messages: [{ value: "forged" }] })).rejects.toThrow(refused);
      await expect(admin.fetchOffsets({ groupId: "another-group", topics: [events] })).rejects.toThrow(refusedGroup);
    } finally {
      await Promise.all([producer.disconnect(), consumer.disconnect(), admin.disconnect()]);
    }
  });

  it("lets the reconciler read where each partition of the events topic starts and ends, and nothing more", async () => {
    const client = as(reconciler.KAFKA_SASL_USERNAME ?? "");
    const admin = client.admin();
    const producer = client.producer();
    await Promise.all([admin.connect(), producer.connect()]);
    try {
      expect(await admin.fetchTopicOffsets(reconciler.KAFKA_TOPIC ?? "")).toHaveLength(6);
      await expect(producer.send({ topic: events, messages: [{ value: "forged" }] })).rejects.toThrow(refused);
      await expect(admin.fetchTopicOffsets(deadLetters)).rejects.toThrow(refused);
      await expect(admin.fetchOffsets({ groupId: serviceB.KAFKA_GROUP_ID ?? "", topics: [events] })).rejects.toThrow(
        refusedGroup,
      );
    } finally {
      await Promise.all([admin.disconnect(), producer.disconnect()]);
    }
  });
});
