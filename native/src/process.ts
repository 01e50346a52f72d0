import { execFile, spawn } from "node:child_process";
import { existsSync, openSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { networkInterfaces, userInfo } from "node:os";
import { promisify } from "node:util";
import { sleep } from "@sum/runtime";
import { portsHeld } from "./port-holders.js";

const execFileAsync = promisify(execFile);

/** A failure that names the component, the cause and the log to read. */
export class StackError extends Error {
  constructor(component: string, cause: string, logFile?: string) {
    super(`${component}: ${cause}${logFile ? `\n  see ${logFile}${tail(logFile)}` : ""}`);
    this.name = "StackError";
  }
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return "";
  const text = readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines);
  return `\n  last lines:\n${text.map((line) => `    ${line}`).join("\n")}`;
}

export const isRoot = () => userInfo().uid === 0;

/** Runs a command to completion, `input` on its standard input; a failure carries its output. */
export async function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<string> {
  try {
    const running = execFileAsync(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (options.input !== undefined) running.child.stdin?.end(options.input);
    const { stdout } = await running;
    return stdout;
  } catch (error) {
    const failure = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `${command} ${args.join(" ")} failed: ${(failure.stderr || failure.stdout || failure.message).trim()}`,
    );
  }
}

/**
 * Who a running process is: its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot)
 * and its executable (not its command line, which nginx rewrites). Together with the pid they name
 * one process, where a pid alone may since have been given to another. Undefined if it is gone.
 */
function processIdentity(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2, the command name in parentheses, may hold spaces: count from its closing parenthesis.
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    const executable = readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, "");
    return startTime === undefined ? undefined : `${startTime}\n${executable}`;
  } catch {
    return undefined;
  }
}

/**
 * The pid in a pid file written by startDaemon, if that very process still runs. A stale file (the
 * process gone, or its pid now another process's) is removed, so nothing ever signals a stranger.
 */
export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const [pidLine = "", ...identity] = readFileSync(pidFile, "utf8").trimEnd().split("\n");
  const pid = Number(pidLine);
  if (Number.isInteger(pid) && pid > 0 && processIdentity(pid) === identity.join("\n")) return pid;
  rmSync(pidFile, { force: true });
  return undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Starts a long-running process detached from this one, output appended to its log, pid in its pid file. */
export async function startDaemon(options: {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}): Promise<number> {
  const log = openSync(options.logFile, "a");
  const child = spawn(options.command, options.args, {
    detached: true,
    stdio: ["ignore", log, log],
    env: options.env ?? process.env,
    cwd: options.cwd,
  });
  const pid = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("spawn", () => resolve(child.pid as number));
  });
  child.unref();
  // The pid, then who that process is, so a later stop can tell it from a process that got its pid.
  await writeFile(options.pidFile, `${pid}\n${processIdentity(pid) ?? ""}\n`);
  return pid;
}

/**
 * Stops the process of a pid file written by startDaemon: SIGTERM (or `signal`), then SIGKILL after
 * `timeoutMs`; resolves once it is gone, and removes the file. Only that very process is signalled
 * (see readPid), never one that has its pid since.
 */
export async function stopProcess(pidFile: string, timeoutMs: number, signal: NodeJS.Signals = "SIGTERM") {
  const pid = readPid(pidFile);
  if (pid === undefined) return;
  const identity = processIdentity(pid);
  const stillThere = () => processIdentity(pid) === identity;
  process.kill(pid, signal);
  const deadline = Date.now() + timeoutMs;
  while (stillThere() && Date.now() < deadline) await sleep(100);
  if (stillThere()) process.kill(pid, "SIGKILL");
  while (stillThere()) await sleep(50);
  await rm(pidFile, { force: true });
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

/** True when something accepts TCP connections on host:port (127.0.0.1 unless told). */
export function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(500);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The host's addresses other than loopback; a link-local IPv6 one with its interface (fe80::1%eth0). */
export function nonLoopbackAddresses(): string[] {
  return Object.entries(networkInterfaces()).flatMap(([name, addresses]) =>
    (addresses ?? [])
      .filter((address) => !address.internal)
      .map((address) =>
        address.family === "IPv6" && address.scopeid ? `${address.address}%${name}` : address.address,
      ),
  );
}

/**
 * Fails, naming the addresses, if `port` accepts connections on an address of the host other than
 * loopback: a listener there (0.0.0.0, ::, the host's own address) answers whoever reaches the host.
 * `why` says what that exposes and what to change.
 */
export async function requireLoopbackOnly(component: string, what: string, port: number, why: string) {
  const answering: string[] = [];
  for (const address of nonLoopbackAddresses()) {
    if (await portInUse(port, address)) answering.push(address);
  }
  if (answering.length > 0) {
    throw new StackError(
      component,
      `${what} answers on port ${port} of ${answering.join(", ")}, not only of 127.0.0.1: ${why}`,
    );
  }
}

/**
 * Whether a listener could bind 127.0.0.1:port now, as every component's would (SO_REUSEADDR, so a
 * closed connection's TIME_WAIT does not count). A listener holds it, or one end of a live connection
 * does: the kernel hands out ports of its ephemeral range (32768-60999 by default) to outgoing
 * connections, and nothing accepts on such a port, yet binding it fails with EADDRINUSE.
 */
export function portBindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * How long a start waits for a port that is still taken. A process killed with -9 keeps its listening
 * sockets until its last thread has exited, which on a loaded machine (a thread in the middle of a disk
 * write) can outlast the kill by seconds; `make start` right after the kill must not call that port busy.
 */
export const PORT_RELEASE_GRACE_MS = 15_000;

/** Waits until each of `ports` can be listened on; a port still taken after the grace is named, and by whom. */
export async function requireFreePorts(
  component: string,
  ports: number[],
  graceMs = PORT_RELEASE_GRACE_MS,
): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (const port of ports) {
    while ((await portInUse(port)) || !(await portBindable(port))) {
      if (Date.now() > deadline) {
        const { held, stop } = portsHeld([port]);
        throw new StackError(
          component,
          (await portInUse(port))
            ? `${held}; ${stop} and start again`
            : `port ${port} is held by one end of a TCP connection (the kernel gives ports of its ephemeral range, ` +
                `/proc/sys/net/ipv4/ip_local_port_range, to outgoing connections): choose a port below that range, ` +
                `or reserve this one: sudo sysctl -w net.ipv4.ip_local_reserved_ports=${port}`,
        );
      }
      await sleep(200);
    }
  }
}

/**
 * Polls `check` until it is true. Gives up after `timeoutMs`, or at once if `alive` says the process
 * died, with an error naming the component and its log.
 */
export async function waitUntil(
  component: string,
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs: number; logFile?: string; alive?: () => boolean | Promise<boolean> },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (options.alive && !(await options.alive())) {
      throw new StackError(component, `the process exited while waiting for ${what}`, options.logFile);
    }
    if (Date.now() > deadline) {
      throw new StackError(
        component,
        `timed out after ${options.timeoutMs / 1000} s waiting for ${what}`,
        options.logFile,
      );
    }
    await sleep(200);
  }
}

export async function httpOk(url: string, timeoutMs = 2000): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  return response.ok;
}
