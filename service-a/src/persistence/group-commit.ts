import { AppError } from "@sum/service-kit";
import { RETRY_WITH_THE_SAME_KEY } from "../domain/outcome-unknown.js";

export interface GroupCommitOptions {
  /** Most items written in one transaction. */
  maxBatchSize: number;
  /** How long the first item of a batch waits for others while a connection is free. */
  windowMs: number;
  /** Most items waiting for a batch; past that, submit() refuses at once. */
  maxQueued: number;
  /** Most batches written at the same time (one database connection each). */
  maxConcurrentBatches: number;
  /** Every item is answered within this, written or not (REQUEST_TIMEOUT_MS). */
  timeoutMs: number;
}

export interface GroupCommitObserver {
  batchWritten(size: number, seconds: number): void;
  waited(seconds: number): void;
  queueDepth(depth: number): void;
  refused(): void;
}

/** Writes a batch; one result per item, in order: a value, or the Error for that item alone. */
export type BatchWriter<T, R> = (items: T[]) => Promise<Array<R | Error>>;

interface Pending<T, R> {
  item: T;
  enqueuedAt: number;
  /** Whether its batch has left the queue: from then on, only the database knows if it commits. */
  writing: boolean;
  deadline: NodeJS.Timeout;
  resolve: (result: R) => void;
  reject: (error: Error) => void;
}

/**
 * Group commit: concurrent submissions are coalesced into batches, each written in one transaction.
 * While every connection is busy, new items queue up and leave together in the next batch, so the
 * batch size grows with the load and one commit serves many requests.
 */
export class GroupCommitter<T, R> {
  private queue: Array<Pending<T, R>> = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly write: BatchWriter<T, R>,
    private readonly options: GroupCommitOptions,
    private readonly observer?: GroupCommitObserver,
  ) {}

  submit(item: T): Promise<R> {
    if (this.queue.length >= this.options.maxQueued) {
      this.observer?.refused();
      return Promise.reject(
        new AppError("UNAVAILABLE", "this instance is overloaded: too many requests waiting to be committed"),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const pending: Pending<T, R> = {
        item,
        enqueuedAt: performance.now(),
        writing: false,
        deadline: setTimeout(() => this.expire(pending), this.options.timeoutMs),
        resolve,
        reject,
      };
      this.queue.push(pending);
      this.observer?.queueDepth(this.queue.length);
      this.schedule();
    });
  }

  /** The deadline passed: answer now. A later result of its batch changes nothing for the client. */
  private expire(pending: Pending<T, R>): void {
    if (pending.writing) {
      pending.reject(
        new AppError(
          "OUTCOME_UNKNOWN",
          `the sum was still being committed at the request deadline, so it may or may not be recorded; ${RETRY_WITH_THE_SAME_KEY}`,
        ),
      );
      return;
    }
    this.queue.splice(this.queue.indexOf(pending), 1);
    this.observer?.queueDepth(this.queue.length);
    pending.reject(
      new AppError(
        "UNAVAILABLE",
        "the database was too slow to take the sum before the request deadline; nothing was written, retry later",
      ),
    );
    if (this.queue.length === 0 && this.inFlight === 0) this.notifyIdle();
  }

  /** Resolves once nothing is queued or being written. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.inFlight >= this.options.maxConcurrentBatches) return;
    if (this.queue.length >= this.options.maxBatchSize || this.options.windowMs <= 0) {
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), this.options.windowMs);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && this.inFlight < this.options.maxConcurrentBatches) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      this.observer?.queueDepth(this.queue.length);
      this.inFlight += 1;
      void this.writeBatch(batch).finally(() => {
        this.inFlight -= 1;
        // Whatever queued meanwhile has already waited a whole transaction: send it now.
        if (this.queue.length > 0) this.flush();
        else if (this.inFlight === 0) this.notifyIdle();
      });
    }
  }

  private async writeBatch(batch: Array<Pending<T, R>>): Promise<void> {
    const started = performance.now();
    for (const pending of batch) {
      pending.writing = true;
      this.observer?.waited((started - pending.enqueuedAt) / 1000);
    }
    let results: Array<R | Error>;
    try {
      results = await this.write(batch.map((pending) => pending.item));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      results = batch.map(() => failure);
    }
    this.observer?.batchWritten(batch.length, (performance.now() - started) / 1000);
    batch.forEach((pending, index) => {
      clearTimeout(pending.deadline);
      const result = results[index];
      if (result instanceof Error) pending.reject(result);
      else if (result === undefined) pending.reject(new AppError("INTERNAL", "batch writer returned no result"));
      else pending.resolve(result);
    });
  }

  private notifyIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
