/**
 * The global setup of the vitest project `service-b` (vitest.config.ts): one Kafka broker for the run,
 * whose addresses Service B's tests take with inject("kafkaBrokers"). It lives here, not in service-b/,
 * because the broker is the runner's (TemporaryKafka) and Service B does not depend on the runner.
 */
import type {} from "vitest";
import type { TestProject } from "vitest/node";
import { TemporaryKafka } from "../src/temporary-kafka.js";

// Declared again in service-b/test/provided-context.d.ts, where the tests inject it.
declare module "vitest" {
  export interface ProvidedContext {
    kafkaBrokers: string[];
  }
}

export default async function setup(project: TestProject) {
  const kafka = await TemporaryKafka.start();
  project.provide("kafkaBrokers", kafka.brokers);
  return () => kafka.destroy();
}
