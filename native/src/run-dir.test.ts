import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { stackCli } from "../test/stack-cli.js";
import { createRunDir, RUN_DIR_MARKER } from "./run-dir.js";

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sum-run-dirs-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it("the runner marks the run directory it creates, or finds empty, and no other", async () => {
  const created = join(scratch, "created", "run");
  await createRunDir(created);
  expect(existsSync(join(created, RUN_DIR_MARKER))).toBe(true);

  const empty = join(scratch, "empty");
  await mkdir(empty);
  await createRunDir(empty);
  expect(existsSync(join(empty, RUN_DIR_MARKER))).toBe(true);

  const someoneElses = join(scratch, "someone-elses");
  await mkdir(someoneElses);
  await writeFile(join(someoneElses, "notes.txt"), "mine");
  await createRunDir(someoneElses);
  expect(existsSync(join(someoneElses, RUN_DIR_MARKER))).toBe(false);
});

it("make clean refuses a run directory the runner did not create, and deletes one it did", async () => {
  const someoneElses = join(scratch, "outside-the-project");
  await mkdir(someoneElses);
  await writeFile(join(someoneElses, "notes.txt"), "mine");
  await expect(stackCli({ RUN_DIR: someoneElses }, "clean")).rejects.toThrow(
    new RegExp(`refusing to delete ${someoneElses}: the native stack did not create it`),
  );
  expect(existsSync(join(someoneElses, "notes.txt"))).toBe(true);

  const ours = join(scratch, "ours");
  await createRunDir(ours);
  await mkdir(join(ours, "logs"));
  await writeFile(join(ours, "logs", "kafka.log"), "…");
  expect(await stackCli({ RUN_DIR: ours }, "clean")).toMatch(`removed ${ours}`);
  expect(existsSync(ours)).toBe(false);
});
