import { readdirSync, readFileSync } from "node:fs";

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

/**
 * CPU seconds used so far by each named process tree (a component's main process and all its
 * descendants: PostgreSQL backends, nginx workers). Take two readings and subtract.
 */
export function cpuSecondsByTree(roots: Map<string, number>): Map<string, number> {
  const processes = readProcesses();
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of processes) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const treeTicks = (pid: number): number =>
    (processes.get(pid)?.ticks ?? 0) + (children.get(pid) ?? []).reduce((sum, child) => sum + treeTicks(child), 0);
  return new Map([...roots].map(([name, pid]) => [name, treeTicks(pid) / TICKS_PER_SECOND]));
}
