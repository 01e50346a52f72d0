/**
 * kafkajs is CommonJS. Vitest hands a module every export kafkajs has, but Node's ESM loader (tsx, as
 * `make bench-service-b` and the CLIs run; Node, as the services run from dist) finds only the ones its
 * static analysis of index.js sees, and a module naming another fails to load there alone. Test files
 * run only under Vitest.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { parse } from "yaml";
import { REPO_ROOT } from "./settings.js";

const NAMED_IMPORT = /import\s*\{([^}]*)\}\s*from\s*"kafkajs"/g;

it("every value a module imports from kafkajs by name is one Node's ESM loader finds", () => {
  const found = JSON.parse(
    execFileSync(
      process.execPath,
      ["--input-type=module", "-e", 'console.log(JSON.stringify(Object.keys(await import("kafkajs"))))'],
      { cwd: join(REPO_ROOT, "native"), encoding: "utf8" },
    ),
  ) as string[];
  const workspace = parse(readFileSync(join(REPO_ROOT, "pnpm-workspace.yaml"), "utf8")) as { packages: string[] };
  const files = workspace.packages.flatMap((dir) =>
    execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.ts"], {
      cwd: join(REPO_ROOT, dir),
      encoding: "utf8",
    })
      .split("\n")
      .filter((file) => file !== "" && !file.endsWith(".test.ts"))
      .map((file) => join(dir, file)),
  );
  const unseen = files.flatMap((file) =>
    [...readFileSync(join(REPO_ROOT, file), "utf8").matchAll(NAMED_IMPORT)].flatMap((m) =>
      (m[1] ?? "")
        .split(",")
        .map((name) => name.trim())
        .filter((name) => name !== "" && !name.startsWith("type "))
        .filter((name) => !found.includes(name.split(/\s+as\s+/)[0] ?? name))
        .map((name) => `${file}: ${name}`),
    ),
  );
  expect(unseen).toEqual([]);
});
