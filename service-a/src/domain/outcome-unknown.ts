/** What every OUTCOME_UNKNOWN tells the client to do. */
export const RETRY_WITH_THE_SAME_KEY =
  "retry with the same Idempotency-Key: if it was committed the retry replays it, if not the retry commits it (without a key, a retry may count the sum twice)";
