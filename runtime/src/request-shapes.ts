/** A POST /sum as a client could send it: the body, and the headers Service A reads. */
export interface SumRequestShape {
  body: string;
  headers?: { idempotencyKey?: string; traceparent?: string };
}

/**
 * A valid sum padded to `size` bytes, and bodies of the same size shaped to cost a parser the most:
 * long literals and runs of zeros (regex backtracking), deep nesting, many or long keys, escapes, and
 * header values as long as the body. Service A's request-cost test times them; the cost-attack
 * benchmark sends them through nginx.
 */
export function requestShapes(size: number): { valid: SumRequestShape; adversarial: Record<string, SumRequestShape> } {
  /** `prefix`, `filler` repeated, then `suffix`, after as much leading whitespace as makes `size` bytes. */
  const body = (prefix: string, filler: string, suffix: string): string => {
    const room = size - prefix.length - suffix.length;
    return " ".repeat(room % filler.length) + prefix + filler.repeat(Math.floor(room / filler.length)) + suffix;
  };
  /** `prefix`, arrays nested as deep as `size` allows, then `suffix`. */
  const nested = (prefix: string, suffix: string): string => {
    const depth = Math.floor((size - prefix.length - suffix.length) / 2);
    return body(prefix + "[".repeat(depth), "]".repeat(depth), suffix);
  };
  const valid = { body: body('{"a":1,"b":2,"pad":"', "x", '"}') };
  return {
    valid,
    adversarial: {
      "a long digit string": { body: body('{"b":1,"a":', "9", "}") },
      "a long run of zeros, then a digit": { body: body('{"b":1,"a":1', "0", "1}") },
      "a long run of trailing zeros": { body: body('{"b":1,"a":1', "0", "}") },
      "a long fraction": { body: body('{"b":1,"a":1.', "0", "1}") },
      "a tiny fraction": { body: body('{"b":1,"a":0.', "0", "1}") },
      "a long exponent": { body: body('{"b":1,"a":1e', "9", "}") },
      "a long exponent of zeros": { body: body('{"b":1,"a":1e-', "0", "1}") },
      "deep nesting": { body: nested('{"a":1,"b":2,"d":', "}") },
      "many keys": { body: body('{"a":1,"b":2', ',"k":1', "}") },
      "many numbers in an array": { body: body('{"a":1,"b":2,"d":[0', ",1", "]}") },
      "a long key": { body: body('{"a":1,"b":2,"', "k", '":1}') },
      "long escapes in a key": { body: body('{"a":1,"b":2,"', "\\u0061", '":1}') },
      "many escaped keys": { body: body('{"a":1,"b":2', ',"\\u0063":1', "}") },
      "a long idempotency key": { ...valid, headers: { idempotencyKey: "k".repeat(size) } },
      "a long traceparent": { ...valid, headers: { traceparent: `00-${"a".repeat(size)}` } },
    },
  };
}
