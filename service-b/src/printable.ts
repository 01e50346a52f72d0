/** Most bytes of one value shown: the rest is counted, not shown. */
export const SHOWN_BYTES = 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** Shown as themselves: letters, marks, digits, punctuation, symbols and the space; never controls,
 * format characters (bidirectional overrides, zero-width), other separators, private or unassigned. */
const SHOWN = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** The length of the UTF-8 sequence that `lead` begins, or 0 where no valid sequence can begin. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const hex = (byte: number) => `\\x${byte.toString(16).padStart(2, "0")}`;

/**
 * `data` as a terminal shows it harmlessly, whoever wrote it: UTF-8 text as itself, except that a
 * byte that is not (or is an ASCII control) shows as \xNN, any other character not shown as itself
 * (SHOWN) as \u{N}, and a backslash as \\; so an escape sequence is seen, never obeyed, and each
 * backslash that is not doubled begins an escape. Past `limit` bytes it ends with \[+N bytes].
 */
export function printable(data: Buffer | string, limit = SHOWN_BYTES): string {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const end = Math.min(bytes.length, limit);
  let shown = "";
  for (let i = 0; i < end; ) {
    const length = sequenceLength(bytes[i] as number);
    let char: string | undefined;
    if (length > 0 && i + length <= end) {
      try {
        char = utf8.decode(bytes.subarray(i, i + length));
      } catch {
        // Not UTF-8 (overlong, a surrogate, a bad continuation): shown byte by byte below.
      }
    }
    if (char === undefined) {
      shown += hex(bytes[i] as number);
      i += 1;
      continue;
    }
    const codePoint = char.codePointAt(0) as number;
    if (char === "\\") shown += "\\\\";
    else if (SHOWN.test(char)) shown += char;
    else if (codePoint < 0x80) shown += hex(codePoint);
    else shown += `\\u{${codePoint.toString(16)}}`;
    i += length;
  }
  return bytes.length > end ? `${shown}\\[+${bytes.length - end} bytes]` : shown;
}
