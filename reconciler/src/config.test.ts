import { kafkaSasl, loadConfig } from "@sum/service-kit";
import { describe, expect, it } from "vitest";
import { configSchema } from "./config.js";

const wiring = {
  OUTBOX_DATABASE_URL: "postgresql://reconciler:x@127.0.0.1:5434/outbox",
  TOTALS_DATABASE_URL: "postgresql://reconciler:x@127.0.0.1:5435/totals",
  DEBEZIUM_SLOT: "outbox_slot",
  PROCESSED_RETENTION_DAYS: "7",
};

describe("the reconciler's configuration", () => {
  it("defaults to a day's window, a minute's grace, and repair on", () => {
    const config = loadConfig("reconciler", configSchema, wiring);
    expect(config).toMatchObject({ WINDOW_HOURS: 24, GRACE_SECONDS: 60, REPAIR: true, KAFKA_TOPIC: "user-events" });
  });

  it("reads REPAIR=false as report only, and refuses anything but true or false", () => {
    expect(loadConfig("reconciler", configSchema, { ...wiring, REPAIR: "false" }).REPAIR).toBe(false);
    expect(() => loadConfig("reconciler", configSchema, { ...wiring, REPAIR: "no" })).toThrow(
      /REPAIR: must be true or false/,
    );
  });

  it("refuses a window longer than Service B keeps applied ids, saying why", () => {
    expect(() =>
      loadConfig("reconciler", configSchema, { ...wiring, WINDOW_HOURS: "48", PROCESSED_RETENTION_DAYS: "1" }),
    ).toThrow(
      /WINDOW_HOURS: 48 hours is more than Service B's PROCESSED_RETENTION_DAYS = 1 \(24 hours\).*applied twice/,
    );
  });

  it("refuses a window under an hour, which the outbox never forgets", () => {
    expect(() => loadConfig("reconciler", configSchema, { ...wiring, WINDOW_HOURS: "0" })).toThrow(/at least 1/);
  });

  it("needs both databases and Debezium's slot", () => {
    expect(() => loadConfig("reconciler", configSchema, {})).toThrow(
      /OUTBOX_DATABASE_URL[\s\S]*TOTALS_DATABASE_URL[\s\S]*DEBEZIUM_SLOT/,
    );
  });

  it("authenticates to Kafka only when told a mechanism and both credentials (the chart's KafkaUser)", () => {
    expect(kafkaSasl(loadConfig("reconciler", configSchema, wiring))).toBeUndefined();
    const sasl = { KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "p" };
    expect(kafkaSasl(loadConfig("reconciler", configSchema, { ...wiring, ...sasl }))).toEqual({
      mechanism: "scram-sha-512",
      username: "u",
      password: "p",
    });
    expect(() => loadConfig("reconciler", configSchema, { ...wiring, KAFKA_SASL_PASSWORD: "p" })).toThrow(
      /KAFKA_SASL_MECHANISM: is required when KAFKA_SASL_PASSWORD is set/,
    );
  });
});
