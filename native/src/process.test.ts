import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitFor } from "@sum/runtime";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DaemonComponent, type DaemonOptions } from "./components/daemon.js";
import { Exporter } from "./components/exporter.js";
import { readPid, requireFreePorts, startDaemon } from "./process.js";
import { loadSettings, paths, type Settings } from "./settings.js";

let runDir: string;
let settings: Settings;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), "sum-pids-"));
  settings = loadSettings({ ...process.env, RUN_DIR: runDir });
  await mkdir(paths(settings).pids);
  await mkdir(paths(settings).logs);
});

afterAll(async () => {
  await rm(runDir, { recursive: true, force: true });
});

/** A component whose process the runner tracks by pid file (any such component does the same). */
const component = (name: string) => new Exporter(settings, name, 1, "prometheus-postgres-exporter", []);

/** Whether a process runs (a zombie does not). */
function runs(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

it("a pid file naming an unrelated live process: it is never signalled, and the stale file is removed", async () => {
  const stranger = spawn("sleep", ["60"], { stdio: "ignore" });
  await once(stranger, "spawn");
  const pid = stranger.pid as number;
  const pidFile = paths(settings).pid("stranger");
  try {
    // As an older runner wrote it, and as if the pid had been given to another process since.
    for (const content of [`${pid}\n`, `${pid}\n1\n/usr/bin/sleep\n`]) {
      await writeFile(pidFile, content);
      expect(await component("stranger").isRunning()).toBe(false);
      expect(existsSync(pidFile)).toBe(false);
      await writeFile(pidFile, content);
      await component("stranger").stop();
      expect(existsSync(pidFile)).toBe(false);
      expect(runs(pid)).toBe(true);
    }
  } finally {
    stranger.kill("SIGKILL");
  }
});

it("a pid file naming a process that is gone is removed", async () => {
  const gone = spawn("true", { stdio: "ignore" });
  await once(gone, "exit");
  const pidFile = paths(settings).pid("gone");
  await writeFile(pidFile, `${gone.pid}\n`);
  expect(await component("gone").isRunning()).toBe(false);
  expect(existsSync(pidFile)).toBe(false);
});

it("the process the runner started is recognised, stopped, and its pid file removed", async () => {
  const pidFile = paths(settings).pid("own");
  const pid = await startDaemon({
    command: "sleep",
    args: ["60"],
    logFile: paths(settings).log("own"),
    pidFile,
  });
  expect(readPid(pidFile)).toBe(pid);
  expect(await component("own").isRunning()).toBe(true);
  await component("own").stop();
  expect(existsSync(pidFile)).toBe(false);
  expect(runs(pid)).toBe(false);
});

it("a port its killed predecessor still holds when the start begins is taken once released", async () => {
  const port = await freePort();
  // The predecessor: still listening, as a process killed with -9 does until its last thread has exited.
  const predecessor = createServer((socket) => {
    socket.destroy();
    predecessor.close();
  });
  await new Promise<void>((resolve) => predecessor.listen(port, "127.0.0.1", resolve));
  const exporter = new Exporter(settings, "successor", port, process.execPath, [
    "-e",
    `require("node:http").createServer((_, res) => res.end("up 1")).listen(${port}, "127.0.0.1")`,
  ]);
  try {
    await exporter.start();
    expect(await exporter.isReady()).toBe(true);
  } finally {
    await exporter.stop();
  }
});

it("a port that is one end of a live connection, where nothing listens, stops the start, saying so", async () => {
  const serverPort = await freePort();
  const accepted: Socket[] = [];
  const server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(serverPort, "127.0.0.1", resolve));
  // The kernel gives the client a port of its ephemeral range; the next component may want that one.
  const client = connect({ host: "127.0.0.1", port: serverPort });
  await once(client, "connect");
  const port = client.localPort as number;
  try {
    await expect(requireFreePorts("service-a-2", [port], 1000)).rejects.toThrow(
      `service-a-2: port ${port} is held by one end of a TCP connection`,
    );
  } finally {
    await waitFor("the connection accepted", () => accepted.length > 0);
    accepted[0]?.destroy();
    await once(client, "close");
    server.close();
  }
  // Not checked here: that the port is free once the connection is gone. Other connections on the
  // machine may be given the same ephemeral port meanwhile; waiting for a release is the test above's.
});

it("a port someone else keeps past the grace stops the start, naming the component, the port and its holder", async () => {
  const port = await freePort();
  // Held by this very process: its pid and command line are known here.
  const stranger = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => stranger.listen(port, "127.0.0.1", resolve));
  try {
    const refused = requireFreePorts("exporter", [port], 1000);
    await expect(refused).rejects.toThrow(
      `exporter: port ${port} is already in use by another process, pid ${process.pid} (${process.argv[0]}`,
    );
    await expect(refused).rejects.toThrow(`; stop it (kill ${process.pid}) and start again`);
  } finally {
    stranger.close();
  }
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
