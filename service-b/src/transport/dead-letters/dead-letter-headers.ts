import { DEAD_LETTER_HEADER_PREFIX, DEAD_LETTER_ORIGINAL_PREFIX } from "@sum/contract";
import type { IHeaders } from "kafkajs";

/**
 * An original message's headers as its dead letter carries them: one whose name begins with
 * DEAD_LETTER_HEADER_PREFIX goes under DEAD_LETTER_ORIGINAL_PREFIX + its name (prefixed again if it
 * had that already, so that `apart` undoes it exactly), leaving every dlq-* name to the pipeline.
 */
export function asDeadLetterHeaders(headers: IHeaders): IHeaders {
  const kept: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    kept[name.startsWith(DEAD_LETTER_HEADER_PREFIX) ? DEAD_LETTER_ORIGINAL_PREFIX + name : name] = value;
  }
  return kept;
}

/** A dead letter's headers apart: the pipeline's (each value's first, as text), and the original's under their own names. */
export function apart(headers: IHeaders): { pipeline: Map<string, string>; original: IHeaders } {
  const pipeline = new Map<string, string>();
  const original: IHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (name.startsWith(DEAD_LETTER_ORIGINAL_PREFIX)) original[name.slice(DEAD_LETTER_ORIGINAL_PREFIX.length)] = value;
    else if (name.startsWith(DEAD_LETTER_HEADER_PREFIX))
      pipeline.set(name, (Array.isArray(value) ? value[0] : value)?.toString() ?? "");
    else original[name] = value;
  }
  return { pipeline, original };
}
