import { join } from "node:path";
import { serviceRoot } from "@sum/service-kit";

export const MIGRATIONS_DIR = join(serviceRoot(import.meta.url), "db", "migrations");
