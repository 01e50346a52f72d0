import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadSettings, paths, type Settings } from "../settings.js";
import { DaemonComponent, type DaemonOptions } from "./daemon.js";

let runDir: string;
let settings: Settings;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), "sum-daemon-"));
  settings = loadSettings({ ...process.env, RUN_DIR: runDir });
  await mkdir(paths(settings).pids);
  await mkdir(paths(settings).logs);
});

afterAll(async () => {
  await rm(runDir, { recursive: true, force: true });
});

/** A component running `script` with node, its output in `output`, ready once that output says "ready". */
class NodeScript extends DaemonComponent {
  constructor(
    options: Omit<DaemonOptions, "address" | "ports">,
    private readonly script: string,
    private readonly output: string,
  ) {
    super(settings, { ...options, address: "-", ports: [] });
  }

  async isReady(): Promise<boolean> {
    return existsSync(this.output) && readFileSync(this.output, "utf8").includes("ready");
  }

  async start(): Promise<void> {
    await this.launch(
      async () => ({ command: process.execPath, args: ["-e", this.script], output: this.output }),
      // Far longer than the test may take: a start that waited for it would time the test out.
      { what: "its ready line", check: () => this.isReady(), timeoutMs: 600_000 },
    );
  }
}

it("a process that exits while its start waits for it: the start fails at once, naming the component and quoting its log", async () => {
  const log = paths(settings).log("exits");
  const exits = new NodeScript(
    { name: "exits", stopTimeoutMs: 10_000 },
    `console.log("cannot listen: the reason"); process.exit(1)`,
    log,
  );
  const start = exits.start();
  await expect(start).rejects.toThrow("exits: the process exited while waiting for its ready line");
  await expect(start).rejects.toThrow(`see ${log}\n  last lines:\n    cannot listen: the reason`);
});

it("a started process is stopped with the component's signal, its output where the launch put it", async () => {
  const output = join(paths(settings).logs, "quits.stdout.log");
  const quits = new NodeScript(
    { name: "quits", stopTimeoutMs: 600_000, stopSignal: "SIGQUIT" },
    // Only SIGQUIT ends it: a SIGTERM, or the SIGKILL after the timeout, would not write the line.
    `process.on("SIGTERM", () => {});
     process.on("SIGQUIT", () => { console.log("asked to quit"); process.exit(0); });
     console.log("ready");
     setInterval(() => {}, 1000);`,
    output,
  );
  await quits.start();
  expect(await quits.isRunning()).toBe(true);
  await quits.stop();
  expect(await quits.isRunning()).toBe(false);
  expect(existsSync(paths(settings).pid("quits"))).toBe(false);
  expect(readFileSync(output, "utf8")).toContain("asked to quit");
  expect(existsSync(quits.logFile)).toBe(false);
});
