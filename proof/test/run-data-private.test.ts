import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadSettings, paths } from "@sum/native/settings";
import { expect, inject, it } from "vitest";
import { PipelineClient, stackEndpoints } from "../src/clients.js";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

/** Each file and directory under `dir` (not `dir`) that other users may read or write, with its mode. */
function openToOthers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).flatMap((entry) => {
    const path = join(dir, entry);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    // Sockets (PostgreSQL's) are reached through their directory; links carry no mode of their own.
    if (stat === undefined || !(stat.isFile() || stat.isDirectory())) return [];
    return (stat.mode & 0o066) === 0 ? [] : [`${entry} ${(stat.mode & 0o777).toString(8)}`];
  });
}

it("the run directory is its owner's alone (0700), and no other user may read what the stack wrote in it", async () => {
  // Every component has written by now: a sum through the whole pipeline.
  await new PipelineClient(stackEndpoints(settings)).sumUntilAcknowledged(1, 2);
  const p = paths(settings);
  expect((lstatSync(p.run).mode & 0o777).toString(8)).toBe("700");
  expect(openToOthers(p.run)).toEqual([]);
  if (p.postgres.root !== p.run) {
    // As root: PostgreSQL's directory lets its server user through (0711) and shows nothing more.
    expect((lstatSync(p.postgres.root).mode & 0o777).toString(8)).toBe("711");
    expect(openToOthers(p.postgres.root)).toEqual([]);
  }
});
