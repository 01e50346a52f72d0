import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./settings.js";

/** Runs the native stack's CLI (what `make start` runs) with `env` over the environment; resolves with its output. */
export function stackCli(env: Record<string, string>, ...args: string[]): Promise<string> {
  return runTypeScript(join(REPO_ROOT, "native", "src", "cli.ts"), env, args);
}

/** Runs a TypeScript program with tsx, `env` over the environment; rejects with its output if it fails. */
export function runTypeScript(file: string, env: Record<string, string>, args: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"), "--conditions=source", file, ...args],
      {
        env: { ...process.env, ...env },
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${file} ${args.join(" ")} failed (${code}):\n${output}`)),
    );
  });
}
