// How large a compressed Kafka record batch can become, read from its framing before any of it is
// decompressed: a few kilobytes of zeros can claim gigabytes, and one such batch on the topic would
// take all of Service B's memory. Each bound is at least the real size, so a batch under the limit
// is never refused; a batch whose framing cannot be read is refused too.

/**
 * A batch past a limit: one that would decompress past MAX_DECOMPRESSED_BATCH_BYTES (or whose framing
 * says nothing trustworthy), or that holds more records than MAX_BATCH_RECORDS.
 */
export class BatchTooLargeError extends Error {
  /** `excess` says what the batch holds, `limit` the setting it is past, with its value. */
  constructor(codec: string, excess: string, limit: string) {
    super(
      `a ${codec} record batch ${excess}, more than the ${limit} allows: refused, so that one batch cannot take ` +
        "all memory; the partitions fetched with it wait until the limit is raised or the records are deleted",
    );
    this.name = "BatchTooLargeError";
  }
}

/** A batch that would decompress to `bound` bytes, past `maxBytes`. */
export function decompressesPast(codec: string, bound: number | string, maxBytes: number): BatchTooLargeError {
  return new BatchTooLargeError(
    codec,
    `would decompress to ${bound} bytes`,
    `${maxBytes} MAX_DECOMPRESSED_BATCH_BYTES`,
  );
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_BLOCK_MAX_BYTES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/** LZ4 expands a byte to at most 255 (a match's length grows by 255 per extra byte), plus a token's worth. */
const LZ4_MAX_RATIO = 256;

/**
 * An LZ4 frame (Kafka writes one per batch): each block holds at most the frame's block size (64 KiB
 * to 4 MiB) and at most 256 times its compressed size, whatever the content size field claims.
 */
export function lz4DecompressedBound(frame: Buffer): number {
  let offset = 0;
  let bound = 0;
  while (offset < frame.length) {
    if (offset + 7 > frame.length || frame.readUInt32LE(offset) !== LZ4_MAGIC) return Number.POSITIVE_INFINITY;
    const flags = frame.readUInt8(offset + 4);
    const blockMax = LZ4_BLOCK_MAX_BYTES[(frame.readUInt8(offset + 5) >> 4) & 7];
    if (blockMax === undefined) return Number.POSITIVE_INFINITY;
    const blockChecksum = (flags & 0x10) !== 0;
    const contentChecksum = (flags & 0x04) !== 0;
    // Magic, FLG, BD, then the content size and dictionary id when flagged, then the header checksum.
    offset += 6 + ((flags & 0x08) !== 0 ? 8 : 0) + ((flags & 0x01) !== 0 ? 4 : 0) + 1;
    for (;;) {
      if (offset + 4 > frame.length) return Number.POSITIVE_INFINITY;
      const word = frame.readUInt32LE(offset);
      const size = word & 0x7fffffff;
      offset += 4;
      if (size === 0) break; // end mark
      const stored = (word & 0x80000000) !== 0;
      bound += stored ? size : Math.min(blockMax, size * LZ4_MAX_RATIO + 64);
      offset += size + (blockChecksum ? 4 : 0);
    }
    offset += contentChecksum ? 4 : 0;
  }
  return bound;
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_BLOCK_MAX_BYTES = 128 * 1024;

/**
 * Zstandard frames: a raw block is as large as it says, a run-length block says how long its run is,
 * and a compressed block holds at most 128 KiB (or the window, if smaller). Each frame's window, and
 * its content size when given, must fit too: the decoder allocates them before it reads a block.
 */
export function zstdDecompressedBound(data: Buffer): { bound: number; window: number } {
  let offset = 0;
  let bound = 0;
  let window = 0;
  const unreadable = { bound: Number.POSITIVE_INFINITY, window: Number.POSITIVE_INFINITY };
  while (offset < data.length) {
    if (offset + 8 > data.length) return unreadable;
    const magic = data.readUInt32LE(offset);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      // A skippable frame: its length, then that many bytes that decompress to nothing.
      offset += 8 + data.readUInt32LE(offset + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) return unreadable;
    const descriptor = data.readUInt8(offset + 4);
    const singleSegment = (descriptor >> 5) & 1;
    const sizeFieldFlag = descriptor >> 6;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3] as number;
    const sizeBytes = sizeFieldFlag === 0 ? singleSegment : 1 << sizeFieldFlag;
    let at = offset + 5;
    let frameWindow = 0;
    if (!singleSegment) {
      const windowDescriptor = data.readUInt8(at);
      const base = 2 ** (10 + (windowDescriptor >> 3));
      frameWindow = base + (base / 8) * (windowDescriptor & 7);
      at += 1;
    }
    at += dictionaryBytes;
    if (at + sizeBytes > data.length) return unreadable;
    let contentSize = 0;
    for (let i = sizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data.readUInt8(at + i);
    if (sizeBytes === 2) contentSize += 256;
    at += sizeBytes;
    if (singleSegment) frameWindow = contentSize;
    window = Math.max(window, frameWindow, contentSize);
    const blockMax = Math.min(ZSTD_BLOCK_MAX_BYTES, frameWindow);
    for (;;) {
      if (at + 3 > data.length) return unreadable;
      const header = data.readUIntLE(at, 3);
      at += 3;
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >> 3;
      if (type === 0) {
        bound += size;
        at += size;
      } else if (type === 1) {
        bound += size;
        at += 1;
      } else if (type === 2) {
        bound += blockMax;
        at += size;
      } else {
        return unreadable;
      }
      if (last) break;
    }
    offset = at + ((descriptor >> 2) & 1 ? 4 : 0);
  }
  return { bound, window };
}
