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

export interface BatchOutcome {
  applied: SumEvent[];
  duplicates: number;
  deadLettered: DeadLetter[];
}

/**
 * Applies a non-empty slice of one partition: poison to the dead-letter topic, valid events to the
 * total exactly once (an id seen before, in this slice or ever, changes nothing), with the slice's
 * end as the partition's position. Resolves only when both are durable, so the caller may then
 * commit the offsets.
 */
export async function applyBatch(deps: { ledger: Ledger; deadLetters: DeadLetters }, messages: IncomingMessage[]) {
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
    } else {
      seen.add(parsed.event.eventId);
      events.push(parsed.event);
    }
  }
  if (deadLettered.length > 0) await deps.deadLetters.send(deadLettered);
  const last = messages[messages.length - 1] as IncomingMessage;
  const { applied, duplicates } = await deps.ledger.apply(events, last);
  return { applied, duplicates: duplicates + duplicatesInBatch, deadLettered } satisfies BatchOutcome;
}
