import type { KafkaSasl } from "@sum/service-kit";
import { Kafka, logLevel } from "kafkajs";
import type { Logger } from "pino";

// kafkajs logs every retried request failure as ERROR; what is not retried surfaces as a crash.
const KAFKAJS_LEVEL: Record<number, "error" | "warn" | "info" | "debug"> = {
  [logLevel.ERROR]: "warn",
  [logLevel.WARN]: "warn",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
};

/** Service B's Kafka client (its consumer, admin and dead-letter producer), logging through `logger`. */
export function kafkaClient(options: {
  brokers: string[];
  /** The Kafka user to authenticate as; none on a PLAINTEXT listener without authentication. */
  sasl?: KafkaSasl | undefined;
  clientId: string;
  logger: Logger;
}): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    sasl: options.sasl,
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log }) => {
        const { message, ...extra } = log;
        options.logger[KAFKAJS_LEVEL[level] ?? "info"]({ kafkajs: extra }, message);
      },
  });
}
