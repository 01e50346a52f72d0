import { spawn } from "node:child_process";
import { expect, it } from "vitest";
import { cpuSecondsByTree } from "./cpu.js";

it("a component's CPU includes the CPU of the processes it started", async () => {
  // A shell that starts a busy child, as a postmaster starts its backends.
  const parent = spawn("sh", ["-c", "timeout 1.5 sh -c 'while :; do :; done'; sleep 5"], { stdio: "ignore" });
  const pid = parent.pid as number;
  const before = cpuSecondsByTree(new Map([["parent", pid]])).get("parent") ?? 0;
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const after = cpuSecondsByTree(new Map([["parent", pid]])).get("parent") ?? 0;
  parent.kill("SIGKILL");
  expect(after - before).toBeGreaterThan(0.5);
});
