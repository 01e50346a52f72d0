import { existsSync, lstatSync, statSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createRunDir, preparePostgresRoot, RUN_DIR_MARKER, removeRunData } from "./run-dir.js";
import { loadSettings, postgresRoot } from "./settings.js";
import { buildStack } from "./stack.js";
import { stackCli } from "./stack-cli.js";

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "sum-run-dirs-"));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

it("the runner marks the run directory it creates, or finds empty, and no other", async () => {
  const created = join(scratch, "created", "run");
  await createRunDir(created);
  expect(existsSync(join(created, RUN_DIR_MARKER))).toBe(true);

  const empty = join(scratch, "empty");
  await mkdir(empty);
  await createRunDir(empty);
  expect(existsSync(join(empty, RUN_DIR_MARKER))).toBe(true);

  const someoneElses = join(scratch, "someone-elses");
  await mkdir(someoneElses);
  await writeFile(join(someoneElses, "notes.txt"), "mine");
  await createRunDir(someoneElses);
  expect(existsSync(join(someoneElses, RUN_DIR_MARKER))).toBe(false);
});

it("make clean refuses a run directory the runner did not create, and deletes one it did", async () => {
  const someoneElses = join(scratch, "outside-the-project");
  await mkdir(someoneElses);
  await writeFile(join(someoneElses, "notes.txt"), "mine");
  await expect(stackCli({ RUN_DIR: someoneElses }, "clean")).rejects.toThrow(
    new RegExp(`refusing to delete ${someoneElses}: the native stack did not create it`),
  );
  expect(existsSync(join(someoneElses, "notes.txt"))).toBe(true);

  const ours = join(scratch, "ours");
  await createRunDir(ours);
  await mkdir(join(ours, "logs"));
  await writeFile(join(ours, "logs", "kafka.log"), "…");
  expect(await stackCli({ RUN_DIR: ours }, "clean")).toMatch(`removed ${ours}`);
  expect(existsSync(ours)).toBe(false);
});

it("the run directory is its owner's alone (0700), one made before with 0755 too", async () => {
  const created = join(scratch, "private", "run");
  await createRunDir(created);
  expect(statSync(created).mode & 0o777).toBe(0o700);

  const former = join(scratch, "former");
  await mkdir(former, { mode: 0o755 });
  await chmod(former, 0o755);
  await createRunDir(former);
  expect(statSync(former).mode & 0o777).toBe(0o700);
});

const asRoot = process.getuid?.() === 0;

it.runIf(asRoot)(
  "as root, PostgreSQL's directory is the runner's under /var/tmp (0711), the same for a run directory each time, and make clean removes it",
  async () => {
    const runDir = join(scratch, "root-run");
    await createRunDir(runDir);
    const root = postgresRoot(runDir);
    expect(root).toMatch(/^\/var\/tmp\/sum-pipeline-postgres-[0-9a-f]{12}$/);
    expect(postgresRoot(runDir)).toBe(root);
    expect(postgresRoot(`${runDir}-other`)).not.toBe(root);

    // A stack made before kept the cluster in the run directory: it moves, data and owner kept.
    const former = join(runDir, "data", "postgres-leader");
    await mkdir(former, { recursive: true });
    await writeFile(join(former, "PG_VERSION"), "15\n");
    const { leader } = buildStack(loadSettings({ ...process.env, RUN_DIR: runDir }), () => undefined);
    await leader.adoptFormerDataDir();
    expect(statSync(root).mode & 0o777).toBe(0o711);
    expect(statSync(root).uid).toBe(0);
    expect(existsSync(join(root, "data", "postgres-leader", "PG_VERSION"))).toBe(true);
    expect(existsSync(former)).toBe(false);

    await removeRunData(runDir);
    expect(existsSync(root)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
  },
);

it.runIf(asRoot)("as root, a PostgreSQL directory someone else made first under /var/tmp is refused", async () => {
  const runDir = join(scratch, "squatted-run");
  await createRunDir(runDir);
  const root = postgresRoot(runDir);
  const refused = new RegExp(`${root} is not this stack's`);
  try {
    await mkdir(root);
    await chown(root, 65534, 65534);
    await expect(preparePostgresRoot(runDir)).rejects.toThrow(refused);
    await rm(root, { recursive: true });

    const elsewhere = join(scratch, "elsewhere");
    await mkdir(elsewhere, { mode: 0o711 });
    await symlink(elsewhere, root);
    await expect(preparePostgresRoot(runDir)).rejects.toThrow(refused);
    expect(lstatSync(root).isSymbolicLink()).toBe(true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
