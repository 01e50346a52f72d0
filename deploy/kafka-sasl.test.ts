import { TemporaryKafka } from "@sum/native/temporary-kafka";
import { waitFor } from "@sum/runtime";
import {
  createTopics,
  type Databases,
  produce,
  readDeadLetters,
  ServiceBProcess,
  serviceEnv,
  startDatabases,
  sumEvent,
  uniqueNames,
} from "@sum/service-b/support";
import { afterAll, beforeAll, expect, it } from "vitest";

// Service B on a broker of its own: SCRAM-SHA-512 and ACLs, as the chart's (the broker of Service B's
// other tests, in the vitest project `service-b`, is PLAINTEXT).
const user = { name: "service-b-test", password: crypto.randomUUID() };
const names = uniqueNames("sasl");
let kafka: TemporaryKafka;
let databases: Databases;
let service: ServiceBProcess | undefined;

beforeAll(async () => {
  [kafka, databases] = await Promise.all([
    TemporaryKafka.start({ scramUsers: { [user.name]: user.password } }),
    startDatabases(),
  ]);
  await createTopics(kafka.brokers, names);
  // What the chart's KafkaUser for Service B allows (deploy/kafka-acls.test.ts checks the chart's), on this test's names.
  await kafka.allow(user.name, [
    { resource: { type: "topic", name: names.topic }, operations: ["Describe", "Read"] },
    { resource: { type: "group", name: names.group }, operations: ["Read"] },
    { resource: { type: "topic", name: names.dlq }, operations: ["Describe", "Write"] },
  ]);
}, 240_000);

afterAll(async () => {
  await service?.stop();
  await databases?.destroy();
  await kafka?.destroy();
});

it("logs in with KAFKA_SASL_* to a SCRAM-SHA-512 listener, applies events and writes dead letters as that user", async () => {
  await produce(kafka.brokers, names.topic, [sumEvent(2, 3), { key: "poison", value: "not json {", headers: {} }]);
  service = await ServiceBProcess.start(
    serviceEnv(databases, kafka.scramBrokers, names, {
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: user.name,
      KAFKA_SASL_PASSWORD: user.password,
    }),
  );
  await waitFor("the event applied", async () => (await service?.total())?.events_applied === 1);
  expect((await service.total()).total).toBe("5");
  await waitFor(
    "the poison in the dead-letter topic",
    async () => (await readDeadLetters(kafka.client(), names.dlq)).letters.length === 1,
  );
  // As long as Service B's other tests on a broker may take (the vitest project service-b's testTimeout).
}, 180_000);
