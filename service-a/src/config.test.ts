import { loadConfig } from "@sum/service-kit";
import { expect, it } from "vitest";
import { configSchema } from "./config.js";

/** What Service A would run with in this environment. */
const configFrom = (env: NodeJS.ProcessEnv) => loadConfig("service-a", configSchema, env);

const urls = {
  DATABASE_URL: "postgresql://service_a:pw@127.0.0.1:5434/outbox",
  MIGRATION_DATABASE_URL: "postgresql://outbox_owner:pw@127.0.0.1:5434/outbox",
};

it("the database URLs are all Service A needs; everything else has its default", () => {
  expect(configFrom(urls)).toMatchObject({
    HTTP_PORT: 8081,
    GRPC_PORT: 50052,
    DB_POOL_SIZE: 8,
    GROUP_COMMIT_MAX_BATCH: 500,
    GROUP_COMMIT_WINDOW_MS: 1,
    REQUEST_TIMEOUT_MS: 8000,
  });
});

it("bad settings stop the start with one message naming every bad variable", () => {
  const load = () =>
    configFrom({
      ...urls,
      DATABASE_URL: "http://x",
      HTTP_PORT: "70000",
      GROUP_COMMIT_WINDOW_MS: "-1",
      REQUEST_TIMEOUT_MS: "15000",
      LOG_LEVEL: "loud",
    });
  expect(load).toThrow(/invalid service-a configuration/);
  for (const name of [
    "DATABASE_URL: must be a postgresql:// URL",
    "HTTP_PORT",
    "GROUP_COMMIT_WINDOW_MS",
    "REQUEST_TIMEOUT_MS",
    "LOG_LEVEL",
  ]) {
    expect(load).toThrow(name);
  }
  expect(() => configFrom({ ...urls, DB_POOL_SIZE: "1" })).toThrow(/DB_POOL_SIZE: must be at least 2/);
  expect(() => configFrom({})).toThrow(/MIGRATION_DATABASE_URL/);
});
