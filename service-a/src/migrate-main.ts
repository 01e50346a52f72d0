/** `node dist/src/migrate-main.js`: applies the migrations and exits, for set-up scripts that need the schema before the service runs. */
import { migrate } from "@sum/pg-migrate";
import { MIGRATIONS_DIR } from "./paths.js";

const url = process.env.MIGRATION_DATABASE_URL;
if (!url) {
  process.stderr.write("MIGRATION_DATABASE_URL is required (postgresql://outbox_owner:...@host:port/outbox)\n");
  process.exit(2);
}
try {
  const applied = await migrate(url, MIGRATIONS_DIR, { applicationName: "service-a-migrate" });
  process.stdout.write(applied.length > 0 ? `applied ${applied.join(", ")}\n` : "schema up to date\n");
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
