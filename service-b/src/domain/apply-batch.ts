import { type IncomingMessage, parseSumEvent, type SumEvent } from "./sum-event.js";

export interface DeadLetter {
  message: IncomingMessage;
  reason: string;
}

/** Where poison goes: durably written before apply() resolves. */
export interface DeadLetters {
  send(letters: DeadLetter[]): Promise<void>;
}

/**
 * The total: in one transaction, adds each event whose id it has not seen and records `last` (the
 * slice's last message, an event or poison) as its partition's last applied offset; says which
 * events were new.
 */
export interface Ledger {
  apply(events: SumEvent[], last: IncomingMessage): Promise<{ applied: SumEvent[]; duplicates: number }>;
}

/**
 * A valid event older than the window within which applied ids are remembered: whether it was
 * applied before can no longer be told, so it must not be applied.
 */
export interface TooOld {
  message: IncomingMessage;
  event: SumEvent;
}

export interface BatchOutcome {
  applied: SumEvent[];
  duplicates: number;
  deadLettered: DeadLetter[];
  /** The slice's first event created before `rememberedSince`: then nothing of the slice was applied. */
  tooOld?: TooOld;
}

/**
 * Applies a non-empty slice of one partition: poison to the dead-letter topic, valid events to the
 * total exactly once (an id seen before, in this slice or ever, changes nothing), with the slice's
 * end as the partition's position. Resolves only when both are durable, so the caller may then
 * commit the offsets. A slice holding an event created before `rememberedSince` (applied ids are
 * forgotten after that long, so it may be a redelivery of one applied and forgotten) changes nothing.
 */
export async function applyBatch(
  deps: { ledger: Ledger; deadLetters: DeadLetters; rememberedSince: Date },
  messages: IncomingMessage[],
): Promise<BatchOutcome> {
  const events: SumEvent[] = [];
  const seen = new Set<string>();
  const deadLettered: DeadLetter[] = [];
  let duplicatesInBatch = 0;
  for (const message of messages) {
    const parsed = parseSumEvent(message);
    if (parsed.kind === "poison") {
      deadLettered.push({ message, reason: parsed.reason });
    } else if (seen.has(parsed.event.eventId)) {
      duplicatesInBatch += 1;
    } else if (parsed.event.createdAt < deps.rememberedSince) {
      return { applied: [], duplicates: 0, deadLettered: [], tooOld: { message, event: parsed.event } };
    } else {
      seen.add(parsed.event.eventId);
      events.push(parsed.event);
    }
  }
  if (deadLettered.length > 0) await deps.deadLetters.send(deadLettered);
  const last = messages[messages.length - 1] as IncomingMessage;
  const { applied, duplicates } = await deps.ledger.apply(events, last);
  return { applied, duplicates: duplicates + duplicatesInBatch, deadLettered };
}
