import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The service-a folder, found from this file whether it runs from src/ (tests) or dist/src/ (built). */
function serviceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`service-a/package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export const MIGRATIONS_DIR = join(serviceRoot(), "db", "migrations");
/** proto/ sits beside service-a/ in the repository (and in the container image). */
export const PROTO_FILE = process.env.PROTO_FILE ?? join(serviceRoot(), "..", "proto", "summation.proto");
/** The health service as server reflection describes it (see the file's header). */
export const HEALTH_PROTO_FILE = join(dirname(PROTO_FILE), "grpc", "health", "v1", "health.proto");
