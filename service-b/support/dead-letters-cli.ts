import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The operator's command, from source, as `node dist/src/dead-letters-main.js` runs it; its output's lines. */
export async function deadLettersCli(
  brokers: string[],
  names: { topic: string; dlq: string },
  ...args: string[]
): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(import.meta.dirname, "..", "src", "dead-letters-main.ts"), ...args],
    { env: { ...process.env, KAFKA_BROKERS: brokers.join(","), KAFKA_TOPIC: names.topic, KAFKA_DLQ_TOPIC: names.dlq } },
  );
  return stdout.trim().split("\n");
}
