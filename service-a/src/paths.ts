import { dirname, join } from "node:path";
import { serviceRoot } from "@sum/service-kit";

const SERVICE_ROOT = serviceRoot(import.meta.url);

export const MIGRATIONS_DIR = join(SERVICE_ROOT, "db", "migrations");
/** proto/ sits beside service-a/ in the repository (and in the container image). */
export const PROTO_FILE = process.env.PROTO_FILE ?? join(SERVICE_ROOT, "..", "proto", "summation.proto");
/** The health service as server reflection describes it (see the file's header). */
export const HEALTH_PROTO_FILE = join(dirname(PROTO_FILE), "grpc", "health", "v1", "health.proto");
