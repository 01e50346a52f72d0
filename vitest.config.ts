import { randomPasswords } from "@sum/native/passwords";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // Workspace libraries are used from source in tests (their "source" export), from dist at run time.
  // Tests run in Vite's server (ssr) environment, whose conditions are these, not resolve.conditions;
  // "node" and "development|production" are Vitest's defaults, kept.
  ssr: { resolve: { conditions: ["source", "node", "development|production"] } },
  test: {
    // Passwords of their own for the stacks and servers tests start (and the settings they load): none
    // has a default, and a developer's .env is theirs.
    env: randomPasswords(),
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each integration file starts its own PostgreSQL; two at a time suit a 2-core machine.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "services",
          include: ["**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", "native/test/**", "proof/test/**", "service-b/test/**"],
        },
      },
      {
        extends: true,
        test: {
          name: "service-b",
          include: ["service-b/test/**/*.test.ts"],
          // One Kafka broker for the run; each test file uses topics of its own.
          globalSetup: ["native/test/kafka-broker-setup.ts"],
          testTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: "native-stack",
          include: ["native/test/**/*.test.ts", "proof/test/**/*.test.ts"],
          // One whole stack for the run, on ports and a run directory of its own.
          globalSetup: ["native/test/global-setup.ts"],
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
