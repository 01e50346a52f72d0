// kafkajs makes objects of every record of a batch and of every header of a record, however few bytes
// each takes: an empty record is about 7 bytes compressed into a fraction of one, and 410 bytes of heap
// decoded (a header, 105). How many a batch holds is read from its framing before kafkajs decodes any.

/** The zigzag varint at `at`, and the offset after it; 0 past the end. */
function readVarint(data: Buffer, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let byte: number | undefined;
  do {
    byte = data[at++];
    if (byte === undefined) return [0, at];
    value |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80 && shift < 35);
  return [(value >>> 1) ^ -(value & 1), at];
}

/** The offset after the varint (or varlong) at `at`. */
function skipVarint(data: Buffer, at: number): number {
  while (((data[at] ?? 0) & 0x80) !== 0) at++;
  return at + 1;
}

/** The offset after the length-prefixed bytes (a key or a value; length -1 for none) at `at`. */
function skipBytes(data: Buffer, at: number): number {
  const [length, next] = readVarint(data, at);
  return next + Math.max(0, length);
}

/**
 * The records and record headers in a batch's (decompressed) records, from each record's length and
 * header count: attributes, timestamp and offset deltas, key, value, then the headers. Framing that
 * cannot be read ends the count, as it ends kafkajs's decoding.
 */
export function countRecordsAndHeaders(records: Buffer): number {
  let count = 0;
  let at = 0;
  while (at < records.length) {
    const [length, start] = readVarint(records, at);
    const end = start + length;
    if (length <= 0 || end > records.length) break;
    // One byte of attributes, the timestamp and offset deltas, the key and the value.
    const headersAt = skipBytes(records, skipBytes(records, skipVarint(records, skipVarint(records, start + 1))));
    const [headers] = headersAt < end ? readVarint(records, headersAt) : [0];
    count += 1 + Math.max(0, headers);
    at = end;
  }
  return count;
}
