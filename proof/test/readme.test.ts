import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { expect, inject, it } from "vitest";

const env = inject("stackEnv");
const settings = loadSettings({ ...process.env, ...env });

/** The README's ports, and where the test stack has them. */
const PORTS: Record<string, number> = {
  "8090": settings.NGINX_HTTP_PORT,
  "50051": settings.NGINX_GRPC_PORT,
  "8082": settings.SERVICE_B_PORT,
  "8091": settings.SERVICE_A_HTTP_PORT_BASE,
  "9090": settings.PROMETHEUS_PORT,
};

interface Example {
  command: string;
  /** The `#` lines under the command; `…` stands for anything. Empty: the command is set-up only. */
  expected: string[];
}

/** The commands of the "Try every route" section, each with the output shown under it. */
function readmeExamples(): Example[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const section = readme.split(/^## Try every route$/m)[1]?.split(/^## /m)[0] ?? "";
  const examples: Example[] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    for (const line of (block[1] ?? "").split("\n")) {
      if (line.startsWith("#")) examples.at(-1)?.expected.push(line.replace(/^# ?/, ""));
      else if (line.trim() !== "") examples.push({ command: line, expected: [] });
    }
  }
  return examples;
}

function onTestStack(command: string): string {
  return command.replace(/localhost:(\d+)/g, (_match, port: string) => {
    const mapped = PORTS[port];
    if (mapped === undefined) throw new Error(`the README uses localhost:${port}, which this test does not map`);
    return `localhost:${mapped}`;
  });
}

const lines = (text: string) =>
  text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");

function matches(expected: string[], output: string): boolean {
  const pattern = lines(expected.join("\n"))
    .map((line) => line.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("…", "[\\s\\S]*?"))
    .join("\n");
  return new RegExp(`^${pattern}$`).test(lines(output).join("\n"));
}

/** Runs every example in one shell (so `key=...` carries over) and returns each one's output. */
function runAll(examples: Example[]): string[] {
  const script = examples.map((e, i) => `echo '@@${i}@@'\n${onTestStack(e.command)} 2>&1\necho`).join("\n");
  const result = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, PATH: `${process.env.PATH}:${join(homedir(), "go", "bin")}:/usr/local/go/bin` },
  });
  const outputs = result.stdout.split(/^@@\d+@@$/m).slice(1);
  if (outputs.length !== examples.length) throw new Error(`the examples did not all run: ${result.stderr}`);
  return outputs;
}

it("every curl and grpcurl example in the README answers what the README shows", async () => {
  const examples = readmeExamples();
  expect(examples.filter((e) => e.expected.length > 0).length).toBeGreaterThanOrEqual(20);
  const which = spawnSync("bash", ["-c", "command -v grpcurl"], {
    env: { ...process.env, PATH: `${process.env.PATH}:${join(homedir(), "go", "bin")}` },
  });
  expect(which.status, "grpcurl is needed: go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4").toBe(0);

  // An event is applied a moment after Service A answers: a mismatch is tried again, for up to a minute.
  let mismatches: Array<{ command: string; expected: string; actual: string }> = [];
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const outputs = runAll(examples);
    mismatches = examples.flatMap((example, i) =>
      example.expected.length === 0 || matches(example.expected, outputs[i] ?? "")
        ? []
        : [{ command: example.command, expected: example.expected.join("\n"), actual: (outputs[i] ?? "").trim() }],
    );
    if (mismatches.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
  expect(mismatches).toEqual([]);
});
