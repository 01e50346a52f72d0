import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@sum/runtime";
import { afterAll, beforeAll, expect, it } from "vitest";
import { stackCli } from "../src/stack-cli.js";

let busy: Server;
let runDir: string;
let busyPort: number;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), "sum-busy-"));
  await chmod(runDir, 0o755);
  busyPort = await freePort();
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(busyPort, "127.0.0.1", resolve));
});

afterAll(async () => {
  busy.close();
  await rm(runDir, { recursive: true, force: true });
});

it("a busy port stops make start with a message naming the component and the port", async () => {
  const env = { RUN_DIR: runDir, OUTBOX_DB_PORT: String(busyPort) };
  await expect(stackCli(env, "start")).rejects.toThrow(
    new RegExp(`postgres-outbox: port ${busyPort} is already in use by another process`),
  );
});

it("bad settings stop the stack before anything starts, naming the variable", async () => {
  await expect(stackCli({ RUN_DIR: runDir, KAFKA_PORT: "not-a-port" }, "status")).rejects.toThrow(/KAFKA_PORT/);
});
