import { EVENTS_TOPIC } from "@sum/contract";
import { kafkaSasl, loadConfig } from "@sum/service-kit";
import { expect, it } from "vitest";
import { configSchema } from "./config.js";

/** What Service B would run with in this environment. */
const configFrom = (env: NodeJS.ProcessEnv) => loadConfig("service-b", configSchema, env);

const urls = {
  LEADER_DATABASE_URL: "postgresql://service_b:pw@127.0.0.1:5435/totals",
  REPLICA_DATABASE_URL: "postgresql://service_b:pw@127.0.0.1:5436/totals",
  MIGRATION_DATABASE_URL: "postgresql://totals_owner:pw@127.0.0.1:5435/totals",
};

it("the database URLs are all Service B needs; everything else has its default", () => {
  const config = configFrom(urls);
  expect(config).toMatchObject({
    HTTP_PORT: 8082,
    KAFKA_BROKERS: ["127.0.0.1:9092"],
    KAFKA_TOPIC: EVENTS_TOPIC,
    FETCH_MIN_BYTES: 65_536,
    FETCH_MAX_WAIT_MS: 50,
    APPLY_SLICE_SIZE: 2000,
    MAX_DECOMPRESSED_BATCH_BYTES: 32 * 1024 * 1024,
    MAX_BATCH_RECORDS: 100_000,
    FETCH_MAX_BYTES: 1024 * 1024,
    FETCH_MAX_PARTITION_BYTES: 256 * 1024,
  });
  expect(configFrom({ ...urls, KAFKA_BROKERS: "a:9092, b:9092" }).KAFKA_BROKERS).toEqual(["a:9092", "b:9092"]);
});

it("bad settings stop the start with one message naming every bad variable", () => {
  const load = () =>
    configFrom({
      ...urls,
      LEADER_DATABASE_URL: "mysql://x@y/z",
      FETCH_MAX_WAIT_MS: "0",
      FETCH_MIN_BYTES: "lots",
      KAFKA_SESSION_TIMEOUT_MS: "1000",
      LOG_LEVEL: "loud",
      PROCESSED_RETENTION_DAYS: "0.5",
      MAX_DECOMPRESSED_BATCH_BYTES: "1048576",
    });
  expect(load).toThrow(/invalid service-b configuration/);
  for (const name of [
    "LEADER_DATABASE_URL: must be a postgresql:// URL",
    "FETCH_MAX_WAIT_MS",
    "FETCH_MIN_BYTES",
    "KAFKA_SESSION_TIMEOUT_MS",
    "LOG_LEVEL",
    "PROCESSED_RETENTION_DAYS: must be at least 1 (day)",
    "MAX_DECOMPRESSED_BATCH_BYTES: must be at least 8388608 (8 MiB)",
  ]) {
    expect(load).toThrow(name);
  }
  expect(() => configFrom({})).toThrow(/REPLICA_DATABASE_URL/);
});

it("authenticates to Kafka only when told a mechanism and both credentials (the chart's KafkaUser)", () => {
  expect(kafkaSasl(configFrom(urls))).toBeUndefined();
  const sasl = { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" };
  expect(kafkaSasl(configFrom({ ...urls, ...sasl }))).toEqual({
    mechanism: "scram-sha-512",
    username: "u",
    password: "p",
  });
  expect(() => configFrom({ ...urls, KAFKA_SASL_MECHANISM: "scram-sha-512" })).toThrow(
    /KAFKA_SASL_USERNAME: is required when KAFKA_SASL_MECHANISM is set/,
  );
});
