import { readdirSync, readFileSync } from "node:fs";
import { componentPid, type Settings } from "@sum/native/settings";
import { buildStack } from "@sum/native/stack";

/** Linux reports CPU time in clock ticks; USER_HZ is 100 on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

interface ProcessTimes {
  ppid: number;
  /** utime + stime + cutime + cstime: its own CPU and that of its children already reaped. */
  ticks: number;
}

function readProcesses(): Map<number, ProcessTimes> {
  const processes = new Map<number, ProcessTimes>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited while we looked
    }
    // The command name (field 2) may hold spaces and parentheses; the fields after the last ")" are fixed.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    processes.set(Number(entry), { ppid: Number(fields[1]), ticks });
  }
  return processes;
}

/** Each named process tree's processes: its main process and all its descendants. */
function processTrees(roots: Map<string, number>, processes: Map<number, ProcessTimes>): Map<string, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of processes) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const tree = (pid: number): number[] => [pid, ...(children.get(pid) ?? []).flatMap(tree)];
  return new Map([...roots].map(([name, pid]) => [name, processes.has(pid) ? tree(pid) : []]));
}

/**
 * CPU seconds used so far by each named process tree (a component's main process and all its
 * descendants: PostgreSQL backends, nginx workers). Take two readings and subtract.
 */
export function cpuSecondsByTree(roots: Map<string, number>): Map<string, number> {
  const processes = readProcesses();
  return new Map(
    [...processTrees(roots, processes)].map(([name, pids]) => [
      name,
      pids.reduce((sum, pid) => sum + (processes.get(pid)?.ticks ?? 0), 0) / TICKS_PER_SECOND,
    ]),
  );
}

/** A process's proportional set size in bytes: its private pages, and its share of pages it shares. */
function pssBytes(pid: number): number {
  try {
    const kib = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1];
    return Number(kib ?? 0) * 1024;
  } catch {
    return 0; // exited while we looked
  }
}

/**
 * Memory each named process tree holds, in MiB: the sum of its processes' PSS, so the shared buffers
 * a postmaster's backends all map count once, not once per backend as RSS would.
 */
export function memoryMibByTree(roots: Map<string, number>): Map<string, number> {
  return new Map(
    [...processTrees(roots, readProcesses())].map(([name, pids]) => [
      name,
      pids.reduce((sum, pid) => sum + pssBytes(pid), 0) / 2 ** 20,
    ]),
  );
}

/** The main process of each component of the stack that is running. */
export function componentPids(settings: Settings): Map<string, number> {
  const pids = new Map<string, number>();
  for (const { name } of buildStack(settings, () => {}).components) {
    const pid = componentPid(settings, name);
    if (pid !== undefined) pids.set(name, pid);
  }
  return pids;
}
