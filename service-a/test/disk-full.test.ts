import { execFile } from "node:child_process";
import { mkdtemp, readFile, rmdir, statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "@sum/runtime";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { postSum, startTestService, type TestService } from "./harness.js";

/*
 * The outbox database's disk filling up, for real: its data directory (base and pg_wal together, as
 * the stacks keep them) on a tmpfs of its own, shrunk to a few MiB more than it holds, and Service A
 * in front of it taking sums with Idempotency-Keys from 16 clients at once until the disk is full.
 *
 * What happens depends on which file PostgreSQL cannot grow first, so each case is tested on its own,
 * made certain by where the WAL stands in its 16 MiB segment when the disk is shrunk:
 *
 * - The tables' files (the outbox keeps its rows now: in production they are what grows). The
 *   statement that needs a new page fails with ERROR `could not extend file "base/…": No space left
 *   on device` (SQLSTATE 53100, HINT "Check free disk space.") and its transaction rolls back; Service
 *   A answers 503 UNAVAILABLE "the database is unavailable; nothing was committed; retry later".
 *   PostgreSQL stays up, and once space is freed the next write succeeds, without a restart.
 *
 * - The WAL. A WAL segment is written whole (16 MiB of zeros, as pg_wal/xlogtemp.PID) before it is
 *   used; when that fails inside a WAL write's critical section, the process PANICs: `could not write
 *   to file "pg_wal/xlogtemp.N": No space left on device`, during a COMMIT. The postmaster kills every
 *   backend ("terminating any other active server processes"), so the commits in flight are cut off
 *   (Service A: 500 OUTCOME_UNKNOWN) and the transactions not yet committing fail (503). It then runs
 *   crash recovery, which must write before it ends (its end-of-recovery checkpoint, and WAL in a new
 *   segment): on the full disk that fails too (FATAL `could not write to file "pg_wal/xlogtemp.N"`,
 *   or, in the checkpoint, `could not write block N of relation …`), and the postmaster shuts down for
 *   good: "shutting down due to startup process failure". Freeing space does not bring it back: it
 *   must be started again (here TemporaryPostgres.start(); docker-compose's `restart: unless-stopped`
 *   does it, the native stack does not). Then it recovers in well under a second ("database system was
 *   interrupted while in recovery … HINT: This probably means that some data is corrupted", its usual
 *   words after a crash during recovery; nothing is), and every acknowledged sum is there. The commits
 *   cut off were not durable in our runs (each retry with its key committed its sum anew); one that
 *   was would be replayed instead: either way the sum is in the outbox once.
 *
 * Mounting a tmpfs needs root: as anyone else the file is skipped (CI runs as root).
 */

const run = promisify(execFile);
const MiB = 1024 * 1024;
const WAL_SEGMENT = 16 * MiB;
/** The disk's size while the database is set up, and once space is freed. */
const ROOMY = 1024 * MiB;
const CLIENTS = 16;
/** Every sum is a + B, each with an `a` of its own, so its rows can be found by `a` as well as by id. */
const B = 7;

/** A tmpfs of its own: the outbox database's disk, which the test fills and then grows. */
class SmallDisk {
  private constructor(readonly dir: string) {}

  static async mount(bytes: number): Promise<SmallDisk> {
    const dir = await mkdtemp(join(tmpdir(), "sum-disk-full-"));
    try {
      await run("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0755`, "sum-disk-full", dir]);
    } catch (error) {
      await rmdir(dir);
      throw error;
    }
    return new SmallDisk(dir);
  }

  /** Its size changed in place, its files kept (`mount -o remount,size=`). */
  async resize(bytes: number): Promise<void> {
    await run("mount", ["-o", `remount,size=${bytes}`, this.dir]);
  }

  /** Room for only `bytes` more than it holds now. */
  async leaveRoom(bytes: number): Promise<void> {
    const stats = await statfs(this.dir);
    await this.resize((stats.blocks - stats.bfree) * stats.bsize + bytes);
  }

  async unmount(): Promise<void> {
    // Lazily if something still holds a file there: the mount goes away either way.
    await run("umount", [this.dir]).catch(() => run("umount", ["--lazy", this.dir]));
    await rmdir(this.dir);
  }
}

type Phase = "filling" | "full" | "freed" | "retry";

interface Answer {
  /** When it was sent: before the first failure, after it, after space was freed, or a retry. */
  phase: Phase;
  key: string;
  a: number;
  status: number;
  code: string;
  message: string;
  eventId?: string;
  result?: number;
  replayed: boolean;
}

/** POSTs a + B with `key`; status 0 when no answer came at all (the connection cut, the process gone). */
async function send(http: string, key: string, a: number, phase: Phase): Promise<Answer> {
  try {
    const response = await postSum(http, JSON.stringify({ a, b: B }), {
      "content-type": "application/json",
      "idempotency-key": key,
    });
    const ok = response.status === 200;
    return {
      phase,
      key,
      a,
      status: response.status,
      code: ok ? "OK" : String(response.body?.error?.code),
      message: ok ? "" : String(response.body?.error?.message),
      eventId: ok ? response.body.event_id : undefined,
      result: ok ? response.body.result : undefined,
      replayed: response.headers.get("idempotent-replayed") === "true",
    };
  } catch (error) {
    return { phase, key, a, status: 0, code: "NO_ANSWER", message: String(error), replayed: false };
  }
}

/** Clients sending sums in a loop, each sum with a key and an `a` of its own, until stopped. */
class SumLoad {
  readonly answers: Answer[] = [];
  phase: Phase = "filling";
  private running = true;
  private next = 0;
  private readonly clients: Array<Promise<void>>;

  constructor(
    private readonly http: string,
    private readonly keyPrefix: string,
  ) {
    this.clients = Array.from({ length: CLIENTS }, () => this.client());
  }

  private async client(): Promise<void> {
    while (this.running) {
      const a = this.next++;
      this.answers.push(await send(this.http, `${this.keyPrefix}-${a}`, a, this.phase));
    }
  }

  failed(): number {
    return this.answers.filter((answer) => answer.status !== 200).length;
  }

  taken(phase: Phase): number {
    return this.answers.filter((answer) => answer.phase === phase && answer.status === 200).length;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.clients);
  }
}

/** Where WAL is inserted next, as an offset into its segment. */
async function walOffset(postgres: TemporaryPostgres): Promise<number> {
  const [row] = await postgres.query<{ offset: number }>(
    "SELECT file_offset AS offset FROM pg_walfile_name_offset(pg_current_wal_insert_lsn())",
  );
  return row?.offset ?? 0;
}

/**
 * Starts a new WAL segment (written whole on the disk now), then fills `bytes` of it with WAL no table
 * needs (logical decoding messages), so that what is left of it is what the sums may write.
 */
async function placeWal(postgres: TemporaryPostgres, bytes: number): Promise<void> {
  await postgres.query("SELECT pg_switch_wal()");
  // Its record is the first in the new segment, which is made for it.
  await postgres.query("CHECKPOINT");
  while ((await walOffset(postgres)) < bytes) {
    await postgres.query("SELECT pg_logical_emit_message(false, 'disk-full-test', repeat('x', 1024 * 1024))");
  }
  expect(await walOffset(postgres)).toBeLessThan(WAL_SEGMENT - MiB);
}

async function postmasterStartedAt(postgres: TemporaryPostgres): Promise<string> {
  const [row] = await postgres.query<{ at: string }>("SELECT pg_postmaster_start_time()::text AS at");
  return row?.at ?? "";
}

interface OutboxRow {
  id: string;
  payload: { event_id: string; a: number; b: number; result: number };
}

/** What the outbox database holds once it is all over. */
interface Ledger {
  /** The rows of the acknowledged event ids, SELECTed by id. */
  byId: Map<string, OutboxRow[]>;
  /** Every row of the outbox, by its sum's `a`. */
  byA: Map<number, OutboxRow[]>;
  /** Every idempotency key claimed, and its event id. */
  keys: Map<string, string>;
}

function grouped<K>(rows: OutboxRow[], by: (row: OutboxRow) => K): Map<K, OutboxRow[]> {
  const groups = new Map<K, OutboxRow[]>();
  for (const row of rows) groups.set(by(row), [...(groups.get(by(row)) ?? []), row]);
  return groups;
}

async function readLedger(postgres: TemporaryPostgres, acknowledgedIds: string[]): Promise<Ledger> {
  const selected = await postgres.query<OutboxRow>(
    "SELECT id, payload FROM outbox WHERE id = ANY($1::uuid[])",
    [acknowledgedIds],
    "outbox",
  );
  const all = await postgres.query<OutboxRow>("SELECT id, payload FROM outbox", [], "outbox");
  const keys = await postgres.query<{ key: string; event_id: string }>(
    "SELECT key, event_id FROM idempotency_keys",
    [],
    "outbox",
  );
  return {
    byId: grouped(selected, (row) => row.id),
    byA: grouped(all, (row) => row.payload.a),
    keys: new Map(keys.map((row) => [row.key, row.event_id])),
  };
}

/** What one case saw, for its tests to judge. */
interface Observed {
  answers: Answer[];
  /** Each OUTCOME_UNKNOWN sent again with its key, once the database took sums again. */
  retries: Answer[];
  ledger: Ledger;
  healthAtEnd: number;
  readyAtEnd: number;
  /** Whether the postmaster at the end is not the one the sums started with. */
  postgresRestarted: boolean;
  postgresLog: string;
}

interface Case {
  keyPrefix: string;
  /** WAL written into a fresh segment before the disk is shrunk: the segment's rest is what sums may use. */
  walBefore: number;
  /** What the disk may hold beyond what it holds then. */
  room: number;
  /** From the first failed write on, until the failure has run its course. */
  whileFull?(postgres: TemporaryPostgres, service: TestService): Promise<void>;
  /** Once space is freed. */
  onceFreed?(postgres: TemporaryPostgres): Promise<void>;
}

/**
 * The outbox database on a small disk, filled by sums until writes fail, then given room again;
 * unmounted afterwards whatever happened. Returns what was seen, once the beforeAll is done.
 */
function fillTheDisk(test: Case): () => Observed {
  let disk: SmallDisk | undefined;
  let postgres: TemporaryPostgres | undefined;
  let service: TestService | undefined;
  let load: SumLoad | undefined;
  let observed: Observed | undefined;

  beforeAll(async () => {
    disk = await SmallDisk.mount(ROOMY);
    postgres = await startOutboxDatabase({ dataDir: join(disk.dir, "data"), slotWalCap: "2GB" });
    service = await startTestService(postgres);
    await placeWal(postgres, test.walBefore);
    await disk.leaveRoom(test.room);
    const startedAt = await postmasterStartedAt(postgres);

    const sums = new SumLoad(service.http, test.keyPrefix);
    load = sums;
    await waitFor("the first write that fails", () => sums.failed() > 0);
    sums.phase = "full";
    await test.whileFull?.(postgres, service);
    await waitFor("100 writes failed", () => sums.failed() >= 100);

    await disk.resize(ROOMY);
    sums.phase = "freed";
    await test.onceFreed?.(postgres);
    await waitFor("100 sums taken after space was freed", () => sums.taken("freed") >= 100);
    await sums.stop();

    const http = service.http;
    const unknown = sums.answers.filter((answer) => answer.code === "OUTCOME_UNKNOWN");
    const retries = await Promise.all(unknown.map((answer) => send(http, answer.key, answer.a, "retry")));
    const acknowledged = [...sums.answers, ...retries].filter((answer) => answer.status === 200);
    observed = {
      answers: sums.answers,
      retries,
      ledger: await readLedger(
        postgres,
        acknowledged.map((answer) => answer.eventId as string),
      ),
      healthAtEnd: (await fetch(`${http}/healthz`)).status,
      readyAtEnd: (await fetch(`${http}/readyz`)).status,
      postgresRestarted: (await postmasterStartedAt(postgres)) !== startedAt,
      postgresLog: await readFile(postgres.logFile, "utf8"),
    };
  }, 300_000);

  afterAll(async () => {
    try {
      await load?.stop();
      await service?.stop();
    } finally {
      try {
        await postgres?.destroy();
      } finally {
        await disk?.unmount();
      }
    }
  });

  return () => {
    if (!observed) throw new Error("the disk was not filled (see the beforeAll's failure)");
    return observed;
  };
}

const expectedAnswer = (answer: Answer) =>
  (answer.status === 200 && answer.code === "OK") ||
  (answer.status === 503 && answer.code === "UNAVAILABLE") ||
  (answer.status === 500 && answer.code === "OUTCOME_UNKNOWN");

/** The checks that hold whichever file filled the disk. */
function nothingLostOrCorrupted(seen: () => Observed): void {
  it("every sum is answered 200, 503 UNAVAILABLE or 500 OUTCOME_UNKNOWN, and Service A keeps running", () => {
    const { answers, healthAtEnd } = seen();
    expect(answers.filter((answer) => !expectedAnswer(answer))).toEqual([]);
    expect(answers.filter((answer) => answer.status === 503).length).toBeGreaterThanOrEqual(100);
    expect(healthAtEnd).toBe(200);
  });

  it("every 200's event is in the outbox exactly once, with its sum and result; no 503's sum is", () => {
    const { answers, retries, ledger } = seen();
    const acknowledged = [...answers, ...retries].filter((answer) => answer.status === 200);
    const wrong: string[] = [];
    for (const answer of acknowledged) {
      const rows = ledger.byId.get(answer.eventId as string) ?? [];
      const [row] = rows;
      if (rows.length !== 1 || !row) wrong.push(`${answer.key} (${answer.phase}): ${rows.length} rows`);
      else if (
        row.payload.event_id !== answer.eventId ||
        row.payload.a !== answer.a ||
        row.payload.b !== B ||
        row.payload.result !== answer.a + B ||
        answer.result !== answer.a + B
      ) {
        wrong.push(
          `${answer.key} (${answer.phase}): answered ${answer.result}, written ${JSON.stringify(row.payload)}`,
        );
      } else if (ledger.keys.get(answer.key) !== answer.eventId) {
        wrong.push(`${answer.key} (${answer.phase}): its key names ${ledger.keys.get(answer.key)}`);
      }
    }
    for (const answer of answers.filter((answer) => answer.status === 503)) {
      if (ledger.byA.has(answer.a)) wrong.push(`${answer.key}: answered 503 (${answer.message}), but written`);
      if (ledger.keys.has(answer.key)) wrong.push(`${answer.key}: answered 503 (${answer.message}), but claimed`);
    }
    // Nor anything else: every row is a sum that was acknowledged, once.
    const acknowledgedAs = new Set(acknowledged.map((answer) => answer.a));
    for (const [a, rows] of ledger.byA) {
      if (!acknowledgedAs.has(a) || rows.length !== 1)
        wrong.push(`a=${a}: ${rows.length} rows${acknowledgedAs.has(a) ? "" : ", never acknowledged"}`);
    }
    expect(wrong).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(1000);
  });
}

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)(
  isRoot
    ? "the outbox database's disk filling up loses and corrupts nothing"
    : "the outbox database's disk filling up (SKIPPED: mounting a tmpfs needs root, and this runs as uid " +
        `${process.getuid?.()}; CI runs as root)`,
  () => {
    describe("when the tables' files cannot grow", () => {
      let notReadyWhileFull: { status: number; body: { error?: { message: string } } } | undefined;
      const seen = fillTheDisk({
        keyPrefix: "tables",
        async whileFull(_postgres, service) {
          await waitFor(
            "/readyz to say not ready",
            async () => {
              const ready = await fetch(`${service.http}/readyz`);
              notReadyWhileFull = {
                status: ready.status,
                body: (await ready.json()) as { error?: { message: string } },
              };
              return ready.status === 503;
            },
            30_000,
          );
        },
        // The rest of a fresh segment takes the WAL of some three times the sums 4 MiB of tables hold.
        walBefore: 0,
        room: 4 * MiB,
      });

      it("PostgreSQL fails the statement and stays up: every failed sum is a 503 (nothing written), none unknown", () => {
        const { answers, postgresLog } = seen();
        expect(postgresLog).toMatch(/ERROR: {2}could not extend file "base\/[0-9/]+": No space left on device/);
        expect(postgresLog).not.toMatch(/PANIC/);
        expect(answers.filter((answer) => answer.status !== 200 && answer.status !== 503)).toEqual([]);
      });

      it("once space is freed, new sums get 200 again, from the same PostgreSQL (no restart)", () => {
        const { answers, postgresRestarted } = seen();
        expect(
          answers.filter((answer) => answer.phase === "freed" && answer.status === 200).length,
        ).toBeGreaterThanOrEqual(100);
        expect(postgresRestarted).toBe(false);
      });

      nothingLostOrCorrupted(seen);

      // SELECT 1 needs no disk: readiness follows the writes themselves, so a load balancer stops
      // sending sums here, and it comes back once a write succeeds.
      it("/readyz says not ready while every write fails for want of space, naming why, and ready again once freed", () => {
        const { readyAtEnd } = seen();
        expect(notReadyWhileFull?.status).toBe(503);
        expect(notReadyWhileFull?.body.error?.message).toMatch(
          /^writing sums has failed for \d+ s: the database is unavailable; nothing was committed/,
        );
        expect(readyAtEnd).toBe(200);
      });
    });

    describe("when the WAL cannot grow", () => {
      let readyWhileDown: { status: number; body: unknown } | undefined;
      let downWithSpaceFree: boolean | undefined;
      const seen = fillTheDisk({
        keyPrefix: "wal",
        // 3 MiB left in the segment, then it needs a new one of 16: the sums that fill those 3 MiB
        // write about a third of the 10 MiB of room to the tables.
        walBefore: WAL_SEGMENT - 3 * MiB,
        room: 10 * MiB,
        async whileFull(postgres, service) {
          await waitFor("PostgreSQL to shut itself down", async () => !(await postgres.isRunning()));
          const ready = await fetch(`${service.http}/readyz`);
          readyWhileDown = { status: ready.status, body: await ready.json() };
        },
        async onceFreed(postgres) {
          downWithSpaceFree = !(await postgres.isRunning());
          await postgres.start();
        },
      });

      it("PostgreSQL PANICs on the WAL segment it cannot make, and shuts down: its recovery cannot end on a full disk", () => {
        const { postgresLog } = seen();
        expect(postgresLog).toMatch(
          /PANIC: {2}could not write to file "pg_wal\/xlogtemp\.\d+": No space left on device/,
        );
        expect(postgresLog).toMatch(/LOG: {2}shutting down due to startup process failure/);
      });

      it("/readyz says not ready while PostgreSQL is down", () => {
        seen();
        expect(readyWhileDown).toEqual({
          status: 503,
          body: { error: { code: "UNAVAILABLE", message: "the database is not reachable" } },
        });
      });

      it("once space is freed and PostgreSQL started again (it stays down by itself), new sums get 200", () => {
        const { answers, postgresRestarted } = seen();
        expect(downWithSpaceFree).toBe(true);
        expect(postgresRestarted).toBe(true);
        expect(
          answers.filter((answer) => answer.phase === "freed" && answer.status === 200).length,
        ).toBeGreaterThanOrEqual(100);
      });

      it("the commits cut off are 500 OUTCOME_UNKNOWN, and a retry of each with its key settles it: 200, its sum once in the outbox", () => {
        const { answers, retries, ledger } = seen();
        expect(retries.length).toBeGreaterThan(0);
        expect(retries).toHaveLength(answers.filter((answer) => answer.code === "OUTCOME_UNKNOWN").length);
        for (const retry of retries) {
          expect(retry, retry.key).toMatchObject({ status: 200, code: "OK" });
          expect(
            ledger.byA.get(retry.a)?.map((row) => row.id),
            retry.key,
          ).toEqual([retry.eventId]);
        }
      });

      nothingLostOrCorrupted(seen);
    });
  },
);
