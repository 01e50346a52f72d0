import { runPostgresProgram } from "./programs.js";

/** A psql meta-command argument or a libpq conninfo value: single-quoted, quotes and backslashes escaped. */
export const backslashQuoted = (value: string) => `'${value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** `text` with each of `secrets` masked, for error messages that may quote a statement. */
const redacted = (text: string, secrets: string[]) =>
  secrets.reduce((masked, secret) => masked.replaceAll(secret, "[redacted]"), text);

/**
 * Runs a SQL file with psql as the superuser, with psql variables (`:'name'` in the file). The
 * password goes in the environment and the variables on standard input: a command line is visible
 * to every user of the machine, and they are passwords. So is an error, so they are masked there.
 */
export async function psqlFile(
  server: { port: number; superuserPassword: string; cwd: string },
  file: string,
  variables: Record<string, string>,
  database: string,
): Promise<void> {
  const script = [
    ...Object.entries(variables).map(([name, value]) => `\\set ${name} ${backslashQuoted(value)}`),
    `\\i ${backslashQuoted(file)}`,
  ].join("\n");
  const connection = ["-h", "127.0.0.1", "-p", String(server.port), "-U", "postgres", "-d", database];
  await runPostgresProgram("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...connection], {
    cwd: server.cwd,
    env: { PGPASSWORD: server.superuserPassword },
    input: script,
  }).catch((error: Error) => {
    throw new Error(redacted(error.message, Object.values(variables)));
  });
}
