import { spawn } from "node:child_process";
import { waitFor } from "@sum/runtime";
import { expect, it } from "vitest";
import { cpuSecondsByTree, memoryMibByTree } from "./process-resources.js";

it("a component's CPU includes the CPU of the processes it started", async () => {
  // A shell that only waits, and a busy child it started, as a postmaster starts its backends.
  const parent = spawn("sh", ["-c", "sh -c 'while :; do :; done' & wait"], { stdio: "ignore", detached: true });
  const pid = parent.pid as number;
  const tree = () => cpuSecondsByTree(new Map([["parent", pid]])).get("parent") ?? 0;
  try {
    // The waiting shell alone never gets there; only the child's CPU, counted in its tree, does.
    await waitFor("the busy child's CPU to count in its parent's tree", () => tree() >= 0.3, 60_000);
  } finally {
    process.kill(-pid, "SIGKILL");
  }
});

it("a component's memory includes the memory of the processes it started, shared pages counted once", async () => {
  // A shell that only waits, and a child holding 64 MiB it has written to.
  const parent = spawn(
    "sh",
    [
      "-c",
      `${process.execPath} -e "globalThis.held = Buffer.alloc(64 * 2 ** 20, 1); setInterval(() => {}, 1000)" & wait`,
    ],
    { stdio: "ignore", detached: true },
  );
  const pid = parent.pid as number;
  const tree = () => memoryMibByTree(new Map([["parent", pid]])).get("parent") ?? 0;
  try {
    await waitFor("the child's 64 MiB to count in its parent's tree", () => tree() >= 64, 60_000);
    expect(tree()).toBeLessThan(512);
  } finally {
    process.kill(-pid, "SIGKILL");
  }
});
