import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "@sum/runtime";
import { afterEach, describe, expect, it } from "vitest";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
const running: ChildProcess[] = [];

/** fixture-service.ts as a process, with its output collected and its exit awaited. */
function runFixture(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(import.meta.dirname, "fixture-service.ts")],
    { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  const exitCode = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logLines = () =>
    stdout
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { level: number; msg: string; [key: string]: unknown });
  const logged = (msg: string) => logLines().filter((line) => line.msg === msg);
  return { child, exitCode, logged, stdout: () => stdout, stderr: () => stderr };
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

describe("runService", () => {
  it("invalid configuration: exits 2 before starting, naming every bad variable on stderr", async () => {
    const fixture = runFixture({ SHUTDOWN_TIMEOUT_MS: "soon", LOG_LEVEL: "loud" });
    expect(await fixture.exitCode).toBe(2);
    expect(fixture.stderr()).toContain("invalid fixture configuration:");
    expect(fixture.stderr()).toContain("SHUTDOWN_TIMEOUT_MS:");
    expect(fixture.stderr()).toContain("LOG_LEVEL:");
    expect(fixture.stdout()).toBe("");
  });

  it("a start that fails: exits 1 after logging why, as fatal", async () => {
    const fixture = runFixture({ START: "fail" });
    expect(await fixture.exitCode).toBe(1);
    const [fatal] = fixture.logged("fixture failed to start");
    expect(fatal).toMatchObject({ level: 60, service: "fixture", service_id: "fixture-1" });
    expect(JSON.stringify(fatal)).toContain("the database refused the connection");
  });

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: the service stops and the process exits 0`, async () => {
      const fixture = runFixture({});
      await waitFor("the fixture started", () => fixture.logged("started").length === 1, 60_000);
      fixture.child.kill(signal);
      expect(await fixture.exitCode).toBe(0);
      expect(fixture.logged("shutting down")).toMatchObject([{ signal }]);
      expect(fixture.logged("stopping")).toHaveLength(1);
    });
  }

  it("a stop that fails: exits 1 after logging why", async () => {
    const fixture = runFixture({ STOP: "fail" });
    await waitFor("the fixture started", () => fixture.logged("started").length === 1, 60_000);
    fixture.child.kill("SIGTERM");
    expect(await fixture.exitCode).toBe(1);
    expect(JSON.stringify(fixture.logged("shutdown failed"))).toContain("the pool would not close");
  });

  it("a stop that never ends: a second signal starts no second stop, and the deadline exits 1", async () => {
    const fixture = runFixture({ STOP: "hang", SHUTDOWN_TIMEOUT_MS: "1" });
    await waitFor("the fixture started", () => fixture.logged("started").length === 1, 60_000);
    fixture.child.kill("SIGTERM");
    await waitFor("the stop begun", () => fixture.logged("stopping").length === 1, 60_000);
    fixture.child.kill("SIGINT");
    expect(await fixture.exitCode).toBe(1);
    expect(fixture.logged("shutdown took too long; exiting")).toHaveLength(1);
    expect(fixture.logged("stopping")).toHaveLength(1);
    expect(fixture.logged("shutting down")).toMatchObject([{ signal: "SIGTERM" }]);
  });
});
