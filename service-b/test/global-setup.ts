import { TemporaryKafka } from "@sum/native/temporary-kafka";
import type {} from "vitest";
import type { TestProject } from "vitest/node";

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
