/**
 * How long a service's work (Service A writing sums; Service B applying events or reading the total)
 * may fail without a success in between before it calls itself not ready. Longer than what retries
 * ride out unnoticed (a statement timeout, a dropped connection, the first seconds of a failover);
 * short enough that an instance that can do none of its work is taken out of service.
 */
export const READINESS_GRACE_MS = 5000;

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // A refused connection to each of a host's addresses is an AggregateError without a message.
  return error.message || (error as NodeJS.ErrnoException).code || error.name;
}

/**
 * The failures of one activity since its last success. It is failing once they have gone on past
 * the grace, or at its first failure if it never succeeded: a fresh instance is not ready on trust.
 */
export class FailureStreak {
  private firstFailureAt: number | undefined;
  private lastError: unknown;
  private succeededOnce = false;

  constructor(
    private readonly activity: string,
    private readonly graceMs = READINESS_GRACE_MS,
    private readonly now = Date.now,
  ) {}

  failed(error: unknown): void {
    this.firstFailureAt ??= this.now();
    this.lastError = error;
  }

  succeeded(): void {
    this.firstFailureAt = undefined;
    this.succeededOnce = true;
  }

  /** Records how `attempt` ends, and passes that on. */
  track<T>(attempt: Promise<T>): Promise<T> {
    return attempt.then(
      (value) => {
        this.succeeded();
        return value;
      },
      (error: unknown) => {
        this.failed(error);
        throw error;
      },
    );
  }

  /** Why it counts as failing ("applying events has failed for 7 s: <the last error>"), or undefined. */
  failing(): string | undefined {
    if (this.firstFailureAt === undefined) return undefined;
    const cause = describeError(this.lastError);
    if (!this.succeededOnce) return `${this.activity} has not succeeded yet: ${cause}`;
    const failingMs = this.now() - this.firstFailureAt;
    if (failingMs <= this.graceMs) return undefined;
    return `${this.activity} has failed for ${Math.floor(failingMs / 1000)} s: ${cause}`;
  }
}
