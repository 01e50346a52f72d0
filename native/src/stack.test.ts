import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@sum/runtime";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serviceB } from "./components/node-service.js";
import { httpOk } from "./process.js";
import { loadSettings, paths, type Settings } from "./settings.js";
import { componentState, startComponents } from "./stack.js";

let runDir: string;
let settings: Settings;
let stale: ChildProcess;

// A Service B left running from before a `make clean`: it answers /readyz 200 on Service B's port,
// and the fresh run directory has no pid file for it.
const STALE_SERVICE_B = `require("node:http").createServer((_, res) => res.end('{"status":"ready"}')).listen(Number(process.argv[1]), "127.0.0.1")`;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), "sum-stale-"));
  const port = await freePort();
  settings = loadSettings({ ...process.env, RUN_DIR: runDir, SERVICE_B_PORT: String(port) });
  await mkdir(paths(settings).pids);
  await mkdir(paths(settings).logs);
  stale = spawn(process.execPath, ["-e", STALE_SERVICE_B, String(port)], { stdio: "ignore" });
  await waitFor("the stale Service B to answer", () => httpOk(`http://127.0.0.1:${port}/readyz`), 30_000);
});

afterAll(async () => {
  stale.kill("SIGKILL");
  if (stale.exitCode === null && stale.signalCode === null) await once(stale, "exit");
  await rm(runDir, { recursive: true, force: true });
});

it("a component's port answering for a process the runner did not start stops the start, naming that process", async () => {
  const lines: string[] = [];
  const port = settings.SERVICE_B_PORT;
  const pid = stale.pid as number;
  const start = startComponents([serviceB(settings)], (line) => lines.push(line));
  await expect(start).rejects.toThrow(
    `service-b: port ${port} is already in use by another process, pid ${pid} (${process.execPath} -e require("node:http")`,
  );
  await expect(start).rejects.toThrow("which answers as service-b but was not started by this runner");
  await expect(start).rejects.toThrow(`stop it (kill ${pid}) and start again`);
  expect(lines).toEqual([]);
});

it("make status shows such a component as not the runner's, not as ready", async () => {
  expect(await componentState(serviceB(settings))).toMatch(
    `answering, but not started by this runner: port ${settings.SERVICE_B_PORT} is already in use by another process, pid ${stale.pid} (`,
  );
});
