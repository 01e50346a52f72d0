import { readFileSync, statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PASSWORD_SETTINGS, writeMissingPasswords } from "./passwords.js";
import { loadSettings, parseDotenv, REPO_ROOT } from "./settings.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sum-passwords-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("a first start writes a random password for each one unset into a .env only its owner can read", async () => {
  const dotenvFile = join(dir, "fresh.env");
  const written = await writeMissingPasswords(dotenvFile, {}, {});
  expect(written).toEqual([...PASSWORD_SETTINGS]);
  expect(statSync(dotenvFile).mode & 0o777).toBe(0o600);
  const values = parseDotenv(readFileSync(dotenvFile, "utf8"));
  const passwords = PASSWORD_SETTINGS.map((name) => values[name] ?? "");
  for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(new Set(passwords).size).toBe(passwords.length);
  // The stack's settings are whole with them, read from that file alone.
  expect(loadSettings({}, dotenvFile).POSTGRES_SUPERUSER_PASSWORD).toBe(values.POSTGRES_SUPERUSER_PASSWORD);

  // The next start finds them all: the file is left as it is (a test's passwords, all in its
  // environment, leave a developer's .env alone so).
  const before = statSync(dotenvFile);
  expect(await writeMissingPasswords(dotenvFile, values, {})).toEqual([]);
  expect(await writeMissingPasswords(dotenvFile, {}, values)).toEqual([]);
  expect(statSync(dotenvFile).mtimeMs).toBe(before.mtimeMs);
  expect(parseDotenv(readFileSync(dotenvFile, "utf8"))).toEqual(values);
});

it("keeps the passwords .env or the environment sets, and fills the empty ones .env.example leaves", async () => {
  const dotenvFile = join(dir, "copied.env");
  const copied = "SERVICE_A_LOG_LEVEL=debug\nPOSTGRES_SUPERUSER_PASSWORD=mine\nREPLICATION_PASSWORD=\nKAFKA_PORT=9999";
  await writeFile(dotenvFile, copied, { mode: 0o644 });
  const written = await writeMissingPasswords(dotenvFile, parseDotenv(copied), { EXPORTER_DB_PASSWORD: "from-env" });
  expect(written).not.toContain("POSTGRES_SUPERUSER_PASSWORD");
  expect(written).not.toContain("EXPORTER_DB_PASSWORD");
  expect(written).toContain("REPLICATION_PASSWORD");
  const text = readFileSync(dotenvFile, "utf8");
  expect(text.startsWith(`${copied}\n`)).toBe(true);
  const values = parseDotenv(text);
  expect(values.POSTGRES_SUPERUSER_PASSWORD).toBe("mine");
  expect(values.REPLICATION_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect(values.EXPORTER_DB_PASSWORD).toBeUndefined();
  expect(statSync(dotenvFile).mode & 0o777).toBe(0o600);
});

it("the repository's .env is git-ignored: the passwords written stay out of git", () => {
  expect(readFileSync(join(REPO_ROOT, ".gitignore"), "utf8").split("\n")).toContain(".env");
});
