import { promisify } from "node:util";
import { unzip } from "node:zlib";
import { decompress as zstdDecompress } from "fzstd";
import kafkajs from "kafkajs";
import { decompressFrame as lz4DecompressFrame } from "lz4-napi";
import { uncompress as snappyUncompress } from "snappyjs";
import {
  BatchTooLargeError,
  decompressesPast,
  lz4DecompressedBound,
  zstdDecompressedBound,
} from "./decompressed-size.js";
import { countRecordsAndHeaders } from "./record-count.js";

// kafkajs reads gzip batches itself and refuses the other codecs Kafka has. A topic holds them once its
// producer compresses (Connect's producer.override.compression.type) or the topic's compression.type
// makes the broker recompress: without these, the consumer stops at the first such batch. Service B
// only reads them; what it writes (dead letters) goes uncompressed. No batch may decompress past a
// limit (decompressed-size.ts), gzip's included, which kafkajs would expand without one, nor hold
// more records than another (record-count.ts); nor may all of a fetch's batches together.

// Not among the names Node finds in kafkajs' CommonJS exports: read from the whole module.
const { CompressionCodecs, CompressionTypes, KafkaJSPartialMessageError } = kafkajs;

// Typed as taking no arguments, but it takes its message as every kafkajs error does.
const PartialMessageError = KafkaJSPartialMessageError as unknown as new (message: string) => Error;

const unzipAsync = promisify(unzip);

/** The magic, version and compatible version that open a snappy batch in xerial's framing (Java's producers). */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LENGTH = 16;

/**
 * Snappy as Kafka's producers write it: xerial's framing (16-byte header, then length-prefixed blocks),
 * or one raw block. Each block states its size first, which snappyjs checks against what is left.
 */
export function decompressSnappy(batch: Buffer, maxBytes: number): Buffer {
  const block = (compressed: Buffer, room: number) => {
    try {
      return Buffer.from(snappyUncompress(compressed, room));
    } catch (error) {
      if (/too big/.test((error as Error).message)) throw decompressesPast("snappy", `over ${room}`, maxBytes);
      throw error;
    }
  };
  if (batch.length < XERIAL_HEADER_LENGTH || !batch.subarray(0, XERIAL_HEADER.length).equals(XERIAL_HEADER)) {
    return block(batch, maxBytes);
  }
  const blocks: Buffer[] = [];
  let size = 0;
  let offset = XERIAL_HEADER_LENGTH;
  while (offset < batch.length) {
    if (offset + 4 > batch.length) throw new Error("snappy batch: a block's length is cut off");
    const length = batch.readUInt32BE(offset);
    offset += 4;
    if (offset + length > batch.length) throw new Error("snappy batch: a block is cut off");
    const decompressed = block(batch.subarray(offset, offset + length), maxBytes - size);
    size += decompressed.length;
    blocks.push(decompressed);
    offset += length;
  }
  return Buffer.concat(blocks);
}

export async function decompressGzip(batch: Buffer, maxBytes: number): Promise<Buffer> {
  try {
    return await unzipAsync(batch, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw decompressesPast("gzip", `over ${maxBytes}`, maxBytes);
    throw error;
  }
}

export async function decompressLz4(batch: Buffer, maxBytes: number): Promise<Buffer> {
  const bound = lz4DecompressedBound(batch);
  if (bound > maxBytes)
    throw decompressesPast("lz4", bound === Infinity ? "an unknown number of" : `up to ${bound}`, maxBytes);
  return lz4DecompressFrame(batch);
}

export function decompressZstd(batch: Buffer, maxBytes: number): Buffer {
  const { bound, window } = zstdDecompressedBound(batch);
  const most = Math.max(bound, window);
  if (most > maxBytes)
    throw decompressesPast("zstd", most === Infinity ? "an unknown number of" : `up to ${most}`, maxBytes);
  return Buffer.from(zstdDecompress(batch));
}

/** The most one fetch may decode from compressed batches; a batch past either alone is refused. */
export interface DecodeLimits {
  /** Bytes decompressed (MAX_DECOMPRESSED_BATCH_BYTES). */
  maxBytes: number;
  /** Records and record headers (MAX_BATCH_RECORDS). */
  maxRecords: number;
}

/**
 * What each fetch response's compressed batches have decompressed to so far, by the response's memory:
 * kafkajs decodes all of a response (every partition's batches) before the consumer sees any, handing
 * each codec a view of the response's own buffer. (A response of under 4 KiB may sit in Node's shared
 * buffer pool beside another: their batches then share limits, stricter, never looser.)
 */
const decodedByFetch = new WeakMap<ArrayBufferLike, { bytes: number; records: number }>();

/**
 * The codec, within the fetch's limits. Its first compressed batch is refused past them; a later one
 * past what is left waits for the next fetch, where it comes first: kafkajs takes a partial-message
 * error for a batch cut off at the end of the fetch, keeps what it decoded before, and fetches again
 * from there.
 */
function readWithinLimits(
  codec: string,
  decompress: (batch: Buffer, maxBytes: number) => Buffer | Promise<Buffer>,
  { maxBytes, maxRecords }: DecodeLimits,
) {
  const waitForNextFetch = () => new PartialMessageError("the fetch's decoding limits are reached: the rest waits");
  return () => ({
    decompress: async (batch: Buffer) => {
      // What the fetch's earlier compressed batches took; none before its first.
      const earlier = decodedByFetch.get(batch.buffer);
      const spent = earlier ?? { bytes: 0, records: 0 };
      let records: Buffer;
      try {
        records = await decompress(batch, maxBytes - spent.bytes);
      } catch (error) {
        if (error instanceof BatchTooLargeError && earlier) throw waitForNextFetch();
        throw error;
      }
      const count = countRecordsAndHeaders(records);
      if (count > maxRecords - spent.records) {
        if (earlier) throw waitForNextFetch();
        throw new BatchTooLargeError(
          codec,
          `holds ${count} records and record headers`,
          `${maxRecords} MAX_BATCH_RECORDS`,
        );
      }
      decodedByFetch.set(batch.buffer, { bytes: spent.bytes + records.length, records: spent.records + count });
      return records;
    },
    compress: async () => {
      throw new Error("Service B writes uncompressed batches only");
    },
  });
}

/**
 * Lets every kafkajs client in this process read batches compressed with gzip, snappy, lz4 or zstd,
 * a fetch's within `limits`.
 */
export function readEveryKafkaCompression(limits: DecodeLimits): void {
  CompressionCodecs[CompressionTypes.GZIP] = readWithinLimits("gzip", decompressGzip, limits);
  CompressionCodecs[CompressionTypes.Snappy] = readWithinLimits("snappy", decompressSnappy, limits);
  CompressionCodecs[CompressionTypes.LZ4] = readWithinLimits("lz4", decompressLz4, limits);
  CompressionCodecs[CompressionTypes.ZSTD] = readWithinLimits("zstd", decompressZstd, limits);
}
