import type { Admin, Batch, Consumer, KafkaMessage } from "kafkajs";
import { recordDigest } from "../../persistence/record-digest.js";
import type { AppliedPosition } from "../../persistence/totals-store.js";
import type { OffsetCommits } from "./offset-commits.js";

export interface PartitionGap {
  topic: string;
  partition: number;
  /** The offset of the last message applied. */
  lastApplied: bigint;
  /** The partition's first offset still in the log, past the next one to apply. */
  logStart: bigint;
}

export function describeGap({ topic, partition, lastApplied, logStart }: PartitionGap): string {
  return (
    `partition ${partition} of ${topic}: applied through offset ${lastApplied}, but the log starts at ${logStart} ` +
    `(offsets ${lastApplied + 1n} to ${logStart - 1n} were deleted before they were applied)`
  );
}

export interface LogReplaced {
  topic: string;
  partition: number;
  /** The offset of the last message applied from the old log. */
  lastApplied: bigint;
  /** How the log was found to be another: its end, or the record at the last applied offset. */
  evidence: string;
  newLogStart: bigint;
  newLogEnd: bigint;
}

export function describeLogReplacement({
  topic,
  partition,
  lastApplied,
  evidence,
  newLogStart,
  newLogEnd,
}: LogReplaced): string {
  return (
    `the log of partition ${partition} of ${topic} was replaced: applied through offset ${lastApplied}, but ${evidence}; ` +
    `consuming the new log from its start (offset ${newLogStart}, ${newLogEnd - newLogStart} records when found)`
  );
}

/** Where the partitions' positions are stored (with the total), and who is told what positioning finds. */
export interface PositionStore {
  /** Where the partition's consumption stands, as the database holds it; undefined before its first message. */
  appliedPosition: (partition: number) => Promise<AppliedPosition | undefined>;
  /** Moves the stored position to just before the new log's start; false if it had moved from `lastApplied`. */
  startAgainOnNewLog: (replaced: LogReplaced) => Promise<boolean>;
  /** Records were deleted from the partition before they were applied: it is paused, never skipped. */
  onGap: (gap: PartitionGap) => void;
  /** The partition's log was replaced: consumption starts again from the new log's start. */
  onLogReplaced: (replaced: LogReplaced) => void;
  /** The partition is consuming a replaced log's successor, not yet up to the end it had when found. */
  onCatchingUp: (partition: number, newLogEnd: bigint) => void;
}

/** Runs a step until it succeeds, for as long as the batch in hand is wanted (persistently). */
type Persist = <T>(what: string, step: () => Promise<T>) => Promise<{ result: T } | undefined>;

/**
 * Each partition resumes after the last offset the database holds as applied (written with the
 * total), whatever the group's committed offset says: messages at or before it are skipped, a
 * position past it is sought back, records deleted before they were applied (a gap) pause the
 * partition, loudly, and a log that is not the one the position was stored for (it ends before the
 * position, or holds another record there) is consumed again from its start.
 */
export function partitionPositions(deps: {
  consumer: Consumer;
  /** The admin client, connected. */
  admin: () => Promise<Admin>;
  topic: string;
  offsetCommits: OffsetCommits;
  store: PositionStore;
}) {
  const { consumer, topic, offsetCommits, store } = deps;
  /** Per partition, the offset its next batch must start at: where its position was last set or checked. */
  const expectedNext = new Map<number, bigint>();
  const seekTo = (partition: number, offset: bigint) => {
    consumer.seek({ topic, partition, offset: offset.toString() });
    expectedNext.set(partition, offset);
  };
  const logBounds = async (partition: number) => {
    const offsets = await (await deps.admin()).fetchTopicOffsets(topic);
    const bounds = offsets.find((p) => p.partition === partition);
    if (bounds === undefined) throw new Error(`no offsets for partition ${partition} of ${topic}`);
    return { start: BigInt(bounds.low), end: BigInt(bounds.high) };
  };

  /**
   * The partition's log is not the one its position was stored for: the position moves to just
   * before the new log's start, loudly, and consumption starts there (event ids applied before are
   * skipped by id, not by offset).
   */
  const startAgain = async (partition: number, lastApplied: bigint, evidence: (end: bigint) => string) => {
    const log = await logBounds(partition);
    const replaced: LogReplaced = {
      topic,
      partition,
      lastApplied,
      evidence: evidence(log.end),
      newLogStart: log.start,
      newLogEnd: log.end,
    };
    if (!(await store.startAgainOnNewLog(replaced))) {
      throw new Error(`partition ${partition}'s applied position moved while its log was checked; checking again`);
    }
    store.onLogReplaced(replaced);
    if (log.end > log.start) store.onCatchingUp(partition, log.end);
    seekTo(partition, log.start);
    offsetCommits.record(partition, log.start.toString());
  };

  /**
   * Sets a partition's position from the one stored with the total: right after its last applied
   * message, or on that message itself when it is still in the log, for the next batch to check that
   * the log is the same. A log that ends before the stored offset was replaced: consumption starts
   * again from its start. Records deleted after it before they were applied (a gap) pause the
   * partition, loudly. A partition never applied starts at the log's start.
   */
  const locate = async (partition: number) => {
    const stored = await store.appliedPosition(partition);
    if (stored === undefined) {
      seekTo(partition, (await logBounds(partition)).start);
      return;
    }
    if (stored.replacedLogEnd !== null && stored.offset + 1n < stored.replacedLogEnd) {
      store.onCatchingUp(partition, stored.replacedLogEnd);
    }
    const log = await logBounds(partition);
    if (log.end <= stored.offset) {
      await startAgain(partition, stored.offset, (end) => `the log now ends at offset ${end}`);
      return;
    }
    // The group's offset made true again, should it trail (a crash) or lead (a reset) the database.
    offsetCommits.record(partition, (stored.offset + 1n).toString());
    if (log.start > stored.offset + 1n) {
      consumer.pause([{ topic, partitions: [partition] }]);
      store.onGap({ topic, partition, lastApplied: stored.offset, logStart: log.start });
    } else if (log.start === stored.offset + 1n || stored.digest === null) {
      // Nothing to check the log against: the record is gone (retention), or was applied before digests were kept.
      seekTo(partition, stored.offset + 1n);
    } else {
      seekTo(partition, stored.offset);
    }
  };

  return {
    /** A new assignment: no position is known until set or checked again. */
    forgetAll: () => expectedNext.clear(),
    /** Sets a partition's position from the one stored with the total (on each assignment). */
    locate,
    /**
     * The batch's messages not applied yet, or undefined when the batch does not follow the stored
     * position (the partition was positioned again, or its log found replaced): it is dropped.
     */
    async unapplied(batch: Batch, persist: Persist): Promise<KafkaMessage[] | undefined> {
      const { partition } = batch;
      // Read for every batch: another instance may have applied the partition since, and kafkajs moves a
      // position on its own (to the log's start when it falls outside the log).
      const read = await persist("reading the applied position", () => store.appliedPosition(partition));
      if (!read) return undefined;
      const stored = read.result;
      const first = BigInt(batch.firstOffset() ?? batch.lastOffset());
      const expected = expectedNext.get(partition);
      const continues =
        expected === first && (stored === undefined || expected === stored.offset || expected === stored.offset + 1n);
      if (!continues) {
        await persist("positioning the partition from its applied position", () => locate(partition));
        return undefined;
      }
      if (stored === undefined || first !== stored.offset) return batch.messages;
      const [atStored] = batch.messages;
      const same =
        atStored !== undefined &&
        atStored.offset === stored.offset.toString() &&
        stored.digest !== null &&
        recordDigest(atStored).equals(stored.digest);
      if (!same) {
        await persist("starting again on the new log", () =>
          startAgain(
            partition,
            stored.offset,
            () => `the record at offset ${stored.offset} is not the one applied there`,
          ),
        );
        return undefined;
      }
      return batch.messages.slice(1);
    },
    /** The partition was applied through `offset`: its next batch starts right after. */
    appliedThrough(partition: number, offset: string) {
      expectedNext.set(partition, BigInt(offset) + 1n);
    },
  };
}
