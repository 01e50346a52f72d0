import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { REPO_ROOT } from "./settings.js";

const run = promisify(execFile);
const dir = join(REPO_ROOT, "prometheus");

it("the alert rules pass promtool check rules", async () => {
  const { stdout } = await run("promtool", ["check", "rules", "alerts.yml"], { cwd: dir });
  expect(stdout).toMatch(/SUCCESS: 19 rules found/);
});

it("every alert fires and stays quiet as its promtool unit tests say", async () => {
  const { stdout } = await run("promtool", ["test", "rules", "alerts.test.yml"], { cwd: dir });
  expect(stdout).toMatch(/SUCCESS/);
});
