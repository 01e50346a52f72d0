import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const REPO_ROOT = join(import.meta.dirname, "..", "..");
/** The CLI the root package.json pins (@stoplight/spectral-cli), and the ruleset it lints with. */
const SPECTRAL = join(REPO_ROOT, "node_modules", ".bin", "spectral");
const RULESET = join(REPO_ROOT, ".spectral.yaml");

/** One result of Spectral's JSON output; severity 0 is an error, 1 a warning, 2 information, 3 a hint. */
interface SpectralResult {
  code: string;
  message: string;
  path: Array<string | number>;
  severity: number;
}

/**
 * What Spectral's spectral:oas ruleset (.spectral.yaml) warns of in `document`, or finds wrong, one
 * line each ("warning operation-operationId paths./sum.post: Operation must have …"); empty when
 * nothing.
 */
export async function spectralFindings(document: object): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "spectral-"));
  try {
    const file = join(dir, "openapi.json");
    await writeFile(file, JSON.stringify(document, null, 2));
    // It exits 1 when it finds something at or above --fail-severity: the JSON says what either way.
    const { stdout } = await promisify(execFile)(
      SPECTRAL,
      ["lint", file, "--ruleset", RULESET, "--format", "json", "--quiet", "--fail-severity", "warn"],
      { timeout: 120_000 },
    ).catch((error: { code?: number; stdout?: string }) => {
      if (error.code === 1 && error.stdout) return { stdout: error.stdout };
      throw error;
    });
    return (JSON.parse(stdout) as SpectralResult[])
      .filter((result) => result.severity <= 1)
      .map(
        (result) =>
          `${result.severity === 0 ? "error" : "warning"} ${result.code} ${result.path.join(".")}: ${result.message}`,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
