import { createHash } from "node:crypto";

/**
 * A digest of a Kafka record's key and value: the same offset of a log that was replaced (lost and
 * written again, or its topic deleted and created again) holds another record, or none.
 */
export function recordDigest(record: { key: Buffer | null; value: Buffer | null }): Buffer {
  const hash = createHash("sha256");
  for (const part of [record.key, record.value]) {
    // The length first (-1 for null), so that key and value cannot trade bytes.
    const length = Buffer.alloc(4);
    length.writeInt32BE(part === null ? -1 : part.length);
    hash.update(length);
    if (part !== null) hash.update(part);
  }
  return hash.digest().subarray(0, 16);
}
