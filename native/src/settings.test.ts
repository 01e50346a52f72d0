import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomPasswords } from "./passwords.js";
import { loadSettings, REPO_ROOT, serviceSettingsEnv } from "./settings.js";

let dir: string;
/** A .env of the test's own, so a developer's .env changes nothing here. */
let dotenvFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "settings-"));
  dotenvFile = join(dir, ".env");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const load = async (dotenv: string, env: Record<string, string> = {}) => {
  await writeFile(dotenvFile, dotenv);
  return loadSettings({ ...randomPasswords(), ...env }, dotenvFile);
};

describe("ports", () => {
  it("two components given one port are refused, naming both", async () => {
    await expect(load("SERVICE_A_INSTANCES=9\n")).rejects.toThrow(
      "port 8099 is given to NGINX_STATUS_PORT and SERVICE_A_HTTP_PORT_BASE + 8 (instance 9): each needs a port of its own",
    );
    await expect(load("", { SERVICE_B_PORT: "9090" })).rejects.toThrow(
      "port 9090 is given to PROMETHEUS_PORT and SERVICE_B_PORT",
    );
  });

  it("the stack's own ports lie below the kernel's ephemeral range, but the contract's 50051", async () => {
    const settings = await load("");
    const ports = Object.entries(settings).filter(([key]) => key.includes("_PORT"));
    const inRange = ports.filter(([, value]) => Number(value) + settings.SERVICE_A_INSTANCES > 32_768);
    expect(inRange).toEqual([["NGINX_GRPC_PORT", 50051]]);
  });
});

describe("directories", () => {
  it("start at the home directory with ~, and at the repository root when relative", async () => {
    const settings = await load("RUN_DIR=~/stack\nJVM_CACHE_DIR=~\n");
    expect(settings.RUN_DIR).toBe(join(homedir(), "stack"));
    expect(settings.JVM_CACHE_DIR).toBe(homedir());
    expect((await load("RUN_DIR=runs/one\n")).RUN_DIR).toBe(join(REPO_ROOT, "runs", "one"));
  });

  it("default to .run in the repository and the jar cache under ~/.cache", async () => {
    const settings = await load("");
    expect(settings.RUN_DIR).toBe(join(REPO_ROOT, ".run"));
    expect(settings.JVM_CACHE_DIR).toBe(join(homedir(), ".cache", "sum-pipeline", "jvm"));
  });

  it("refuse ~user, which only a shell expands, saying what to write instead", async () => {
    await expect(load("JVM_CACHE_DIR=~builder/jars\n")).rejects.toThrow(
      "JVM_CACHE_DIR: ~builder/jars: only ~ alone or ~/... is expanded",
    );
  });
});

describe("the services' settings", () => {
  it("reach each service under its own names, from .env or the environment over it, defaults for the rest", async () => {
    const settings = await load("SERVICE_A_GROUP_COMMIT_MAX_BATCH=2\nSERVICE_B_APPLY_SLICE_SIZE=10\n", {
      SERVICE_B_APPLY_SLICE_SIZE: "20",
    });
    expect(serviceSettingsEnv(settings, "service-a")).toMatchObject({ GROUP_COMMIT_MAX_BATCH: "2", DB_POOL_SIZE: "8" });
    expect(serviceSettingsEnv(settings, "service-b")).toMatchObject({ APPLY_SLICE_SIZE: "20", DB_POOL_SIZE: "4" });
  });

  it("reach the reconciler under RECONCILE_, as it reads them", async () => {
    const settings = await load("RECONCILE_REPAIR=false\nRECONCILE_WINDOW_HOURS=48\n");
    expect(serviceSettingsEnv(settings, "reconciler")).toMatchObject({
      REPAIR: "false",
      WINDOW_HOURS: "48",
      GRACE_SECONDS: "60",
    });
  });

  it("are checked by the runner against the service's schema, named as in .env", async () => {
    await expect(load("SERVICE_A_REQUEST_TIMEOUT_MS=20000\n")).rejects.toThrow(/SERVICE_A_REQUEST_TIMEOUT_MS: .*14000/);
  });

  it("are refused in .env under a service's own name, which would do nothing", async () => {
    await expect(load("DB_POOL_SIZE=3\n")).rejects.toThrow(
      "DB_POOL_SIZE: a service's setting takes its service's prefix: SERVICE_A_DB_POOL_SIZE or SERVICE_B_DB_POOL_SIZE",
    );
    await expect(load("WINDOW_HOURS=3\n")).rejects.toThrow(
      "WINDOW_HOURS: a service's setting takes its service's prefix: RECONCILE_WINDOW_HOURS",
    );
  });

  it("refuse a reconcile window longer than Service B keeps applied ids, naming both", async () => {
    await expect(load("RECONCILE_WINDOW_HOURS=49\nSERVICE_B_PROCESSED_RETENTION_DAYS=2\n")).rejects.toThrow(
      "RECONCILE_WINDOW_HOURS: 49 hours is more than SERVICE_B_PROCESSED_RETENTION_DAYS = 2 (48 hours): " +
        "an event re-sent after its id was pruned would be applied twice",
    );
    const settings = await load("RECONCILE_WINDOW_HOURS=48\nSERVICE_B_PROCESSED_RETENTION_DAYS=2\n");
    expect(settings.RECONCILE_WINDOW_HOURS).toBe(48);
  });
});
