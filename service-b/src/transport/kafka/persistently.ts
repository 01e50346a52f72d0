/** Runs `step` until it succeeds, backing off up to `maxBackoffMs`; undefined once it is no longer wanted. */
export async function persistently<T>(
  step: () => Promise<T>,
  options: {
    maxBackoffMs: number;
    wanted: () => boolean;
    onFailure: (error: unknown, backoffMs: number) => unknown;
  },
): Promise<{ result: T } | undefined> {
  let backoffMs = 100;
  for (;;) {
    if (!options.wanted()) return undefined;
    try {
      return { result: await step() };
    } catch (error) {
      await options.onFailure(error, backoffMs);
      await new Promise((resolve) => setTimeout(resolve, backoffMs));
      backoffMs = Math.min(backoffMs * 2, options.maxBackoffMs);
    }
  }
}
