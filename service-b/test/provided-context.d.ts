import type {} from "vitest";

// What the project's global setup (native/test/kafka-broker-setup.ts, which declares it too) provides:
// the addresses of the run's Kafka broker.
declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}
