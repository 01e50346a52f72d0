import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { loadSettings, REPO_ROOT } from "../src/settings.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });
const nginx = `http://127.0.0.1:${settings.NGINX_HTTP_PORT}`;
const serviceB = `http://127.0.0.1:${settings.SERVICE_B_PORT}`;
const SCHEMATHESIS_DIR = join(REPO_ROOT, "native", "schemathesis");

/** The pinned Schemathesis' executable; fails saying how to install it when it is missing. */
async function schemathesis(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [join(SCHEMATHESIS_DIR, "install.sh"), "--path"]).catch(
    (error: { stderr?: string }) => {
      throw new Error(error.stderr?.trim() || "Schemathesis is missing: run 'make install-schemathesis'");
    },
  );
  return stdout.trim();
}

/**
 * Runs every Schemathesis check on the document at `schemaUrl` against `baseUrl`: a fixed seed and a
 * bounded number of examples per operation make the run the same each time, and short (no
 * --max-time: fuzzing would repeat until it is spent).
 */
async function runSchemathesis(schemaUrl: string, baseUrl: string, configOptions: string[], ...options: string[]) {
  const args = [
    ...configOptions,
    "run",
    schemaUrl,
    "--url",
    baseUrl,
    "--checks",
    "all",
    "--seed",
    "1",
    "--max-examples",
    "20",
    // The examples found in an earlier run would make the next run differ from this one.
    "--generation-database",
    "none",
    "--request-timeout",
    "20",
    "--no-color",
    ...options,
  ];
  // In a directory of its own: Schemathesis keeps a cache (.schemathesis/) where it runs.
  const cwd = await mkdtemp(join(tmpdir(), "schemathesis-"));
  const child = spawn(await schemathesis(), args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  await rm(cwd, { recursive: true, force: true });
  return { code, output };
}

describe("Schemathesis against the live native stack", () => {
  it("finds nothing in Service A's API through nginx (POST /sum, GET and HEAD /openapi.json)", async () => {
    const run = await runSchemathesis(
      `${nginx}/openapi.json`,
      nginx,
      ["--config-file", join(SCHEMATHESIS_DIR, "service-a.toml")],
      // The instances' own /healthz, /readyz and /metrics are not routed by nginx.
      "--include-path-regex",
      "^/(sum|openapi\\.json)$",
    );
    expect(run.output).toMatch(/Tested: 3\b/);
    expect(run.code, run.output).toBe(0);
  });

  it("finds nothing in Service B's API", async () => {
    const run = await runSchemathesis(`${serviceB}/openapi.json`, serviceB, []);
    expect(run.output).toMatch(/Tested: 13\b/);
    expect(run.code, run.output).toBe(0);
  });
});
