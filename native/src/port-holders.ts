import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A process with a socket listening on a port, as `ps` would show it. */
interface PortHolder {
  pid: number;
  command: string;
}

/** A command line is shown up to this long: a JVM's runs to kilobytes of class path. */
const COMMAND_SHOWN = 120;

/** The inodes of the sockets listening on TCP `port`, IPv4 and IPv6, whatever the address. */
function listeningSockets(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").trim().split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      // sl, local address (hex address:hex port), remote address, state (0A is LISTEN), ..., inode (10th).
      const [, local = "", , state, , , , , , inode] = line.trim().split(/\s+/);
      if (state === "0A" && Number.parseInt(local.split(":")[1] ?? "", 16) === port) inodes.add(`socket:[${inode}]`);
    }
  }
  return inodes;
}

/** Whether one of the process's open files is one of `sockets`; false for a process gone or not ours to read. */
function holdsAny(pid: string, sockets: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return sockets.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function commandLine(pid: string): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replaceAll("\0", " ");
    return command.length > COMMAND_SHOWN ? `${command.slice(0, COMMAND_SHOWN)}…` : command;
  } catch {
    return "?";
  }
}

/**
 * The processes listening on TCP `port` (nginx's workers share their master's socket: each is one).
 * Found from /proc: another user's processes only as root, so possibly none while the port is taken.
 */
function portHolders(port: number): PortHolder[] {
  const sockets = listeningSockets(port);
  if (sockets.size === 0) return [];
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry) && holdsAny(entry, sockets))
    .map((pid) => ({ pid: Number(pid), command: commandLine(pid) }));
}

/**
 * Who holds those of `ports` that something listens on ("port 8082 is already in use by another
 * process, pid 1234 (node …)"), and how to stop them ("stop it (kill 1234)"), for a message.
 */
export function portsHeld(ports: number[]): { held: string; stop: string } {
  const listened = ports.filter((port) => listeningSockets(port).size > 0);
  const held = (listened.length > 0 ? listened : ports).map((port) => ({ port, holders: portHolders(port) }));
  const pids = [...new Set(held.flatMap(({ holders }) => holders.map((holder) => holder.pid)))];
  return {
    held: held
      .map(({ port, holders }) => {
        const who = holders.map((holder) => `pid ${holder.pid} (${holder.command})`).join(", ");
        // Only root sees another user's processes' sockets (or one in another network namespace).
        return `port ${port} is already in use by another process, ${who || "one this user cannot see (ss -ltnp as root names it)"}`;
      })
      .join("; "),
    stop: pids.length > 0 ? `stop it (kill ${pids.join(" ")})` : "stop it",
  };
}
