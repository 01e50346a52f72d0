import { z } from "zod";

/** The one mechanism the chart's Kafka listener offers (Strimzi's `scram-sha-512` authentication). */
export const KAFKA_SASL_MECHANISMS = ["scram-sha-512"] as const;

// An empty variable is an unset one: a stack may pass `${NAME:-}`.
const unsetIfEmpty = (value: unknown) => (value === "" ? undefined : value);

/**
 * How a Kafka client of the chart authenticates; unset where the listener is PLAINTEXT without
 * authentication (the native and Compose stacks). Spread into a service's wiring schema, checked
 * with `checkKafkaSasl`.
 */
export const kafkaSaslSettings = {
  KAFKA_SASL_MECHANISM: z.preprocess(
    unsetIfEmpty,
    z.enum(KAFKA_SASL_MECHANISMS, { error: `must be one of: ${KAFKA_SASL_MECHANISMS.join(", ")}` }).optional(),
  ),
  KAFKA_SASL_USERNAME: z.preprocess(unsetIfEmpty, z.string().optional()),
  KAFKA_SASL_PASSWORD: z.preprocess(unsetIfEmpty, z.string().optional()),
};

const kafkaSaslObject = z.object(kafkaSaslSettings);

export type KafkaSaslConfig = z.infer<typeof kafkaSaslObject>;

/** What kafkajs takes as `sasl`. */
export interface KafkaSasl {
  mechanism: (typeof KAFKA_SASL_MECHANISMS)[number];
  username: string;
  password: string;
}

/**
 * A zod check of a schema holding `kafkaSaslSettings`: a mechanism needs both credentials, and
 * credentials need a mechanism (else they would be ignored and the client would connect
 * unauthenticated). One issue per missing variable.
 */
export function checkKafkaSasl(config: KafkaSaslConfig, context: z.RefinementCtx): void {
  const credentials = ["KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD"] as const;
  if (config.KAFKA_SASL_MECHANISM !== undefined) {
    for (const name of credentials.filter((name) => config[name] === undefined)) {
      context.addIssue({ code: "custom", path: [name], message: "is required when KAFKA_SASL_MECHANISM is set" });
    }
    return;
  }
  const given = credentials.filter((name) => config[name] !== undefined);
  if (given.length > 0) {
    context.addIssue({
      code: "custom",
      path: ["KAFKA_SASL_MECHANISM"],
      message: `is required when ${given.join(" or ")} is set (without it the client would not authenticate)`,
    });
  }
}

/** kafkajs's `sasl` for a checked configuration; undefined when it sets no mechanism. */
export function kafkaSasl(config: KafkaSaslConfig): KafkaSasl | undefined {
  const { KAFKA_SASL_MECHANISM: mechanism, KAFKA_SASL_USERNAME: username, KAFKA_SASL_PASSWORD: password } = config;
  if (mechanism === undefined) return undefined;
  if (username === undefined || password === undefined) {
    throw new Error("KAFKA_SASL_MECHANISM is set without KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD");
  }
  return { mechanism, username, password };
}

/** The SASL variables alone, checked: for a tool that reads no other configuration. */
export const kafkaSaslSchema = kafkaSaslObject.superRefine(checkKafkaSasl);
