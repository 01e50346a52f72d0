/**
 * The largest operand, result and total a client may see: every int64 and float64 client holds it
 * exactly (Number.MAX_SAFE_INTEGER), so JSON numbers never round.
 */
export const MAX_OPERAND = Number.MAX_SAFE_INTEGER;

/**
 * The longest number literal read as an operand. A valid one needs 16 significant digits; the rest is
 * room for zeros ("1.000" or "0.0001e4" are exact integers). Longer ones are refused unread.
 */
export const MAX_LITERAL_LENGTH = 400;

/** The largest HTTP body, gRPC message and event value (16 KiB): anything larger is refused unread. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
