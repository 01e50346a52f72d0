import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { kafkaSasl, kafkaSaslSchema } from "./kafka-sasl.js";

const load = (env: NodeJS.ProcessEnv) => loadConfig("test", kafkaSaslSchema, env);
const credentials = { KAFKA_SASL_USERNAME: "sum-service-b-kafka", KAFKA_SASL_PASSWORD: "secret" };

describe("the Kafka SASL settings", () => {
  it("are none by default, or when set empty (a PLAINTEXT listener): the client does not authenticate", () => {
    expect(kafkaSasl(load({}))).toBeUndefined();
    expect(
      kafkaSasl(load({ KAFKA_SASL_MECHANISM: "", KAFKA_SASL_USERNAME: "", KAFKA_SASL_PASSWORD: "" })),
    ).toBeUndefined();
  });

  it("give kafkajs the mechanism and both credentials", () => {
    expect(kafkaSasl(load({ KAFKA_SASL_MECHANISM: "scram-sha-512", ...credentials }))).toEqual({
      mechanism: "scram-sha-512",
      username: "sum-service-b-kafka",
      password: "secret",
    });
  });

  it("refuse a mechanism without both credentials, naming each missing one", () => {
    expect(() => load({ KAFKA_SASL_MECHANISM: "scram-sha-512" })).toThrow(
      /KAFKA_SASL_USERNAME: is required when KAFKA_SASL_MECHANISM is set\n {2}KAFKA_SASL_PASSWORD: is required/,
    );
    expect(() =>
      load({ KAFKA_SASL_MECHANISM: "scram-sha-512", KAFKA_SASL_USERNAME: "u", KAFKA_SASL_PASSWORD: "" }),
    ).toThrow(/KAFKA_SASL_PASSWORD: is required when KAFKA_SASL_MECHANISM is set/);
  });

  it("refuse credentials without a mechanism, which would leave the client unauthenticated", () => {
    expect(() => load(credentials)).toThrow(
      /KAFKA_SASL_MECHANISM: is required when KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD is set/,
    );
  });

  it("refuse a mechanism the chart's listener does not offer", () => {
    expect(() => load({ KAFKA_SASL_MECHANISM: "plain", ...credentials })).toThrow(
      /KAFKA_SASL_MECHANISM: must be one of: scram-sha-512/,
    );
  });
});
