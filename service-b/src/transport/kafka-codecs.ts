import { promisify } from "node:util";
import { unzip } from "node:zlib";
import { decompress as zstdDecompress } from "fzstd";
import kafkajs from "kafkajs";
import { decompressFrame as lz4DecompressFrame } from "lz4-napi";
import { uncompress as snappyUncompress } from "snappyjs";
import { BatchTooLargeError, lz4DecompressedBound, zstdDecompressedBound } from "./decompressed-size.js";

// kafkajs reads gzip batches itself and refuses the other codecs Kafka has. A topic holds them once its
// producer compresses (Connect's producer.override.compression.type) or the topic's compression.type
// makes the broker recompress: without these, the consumer stops at the first such batch. Service B
// only reads them; what it writes (dead letters) goes uncompressed. No batch may decompress past a
// limit (decompressed-size.ts), gzip's included, which kafkajs would expand without one.

// Not among the names Node finds in kafkajs' CommonJS exports: read from the whole module.
const { CompressionCodecs, CompressionTypes } = kafkajs;

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
      if (/too big/.test((error as Error).message)) throw new BatchTooLargeError("snappy", `over ${room}`, maxBytes);
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
      throw new BatchTooLargeError("gzip", `over ${maxBytes}`, maxBytes);
    throw error;
  }
}

export async function decompressLz4(batch: Buffer, maxBytes: number): Promise<Buffer> {
  const bound = lz4DecompressedBound(batch);
  if (bound > maxBytes)
    throw new BatchTooLargeError("lz4", bound === Infinity ? "an unknown number of" : `up to ${bound}`, maxBytes);
  return lz4DecompressFrame(batch);
}

export function decompressZstd(batch: Buffer, maxBytes: number): Buffer {
  const { bound, window } = zstdDecompressedBound(batch);
  const most = Math.max(bound, window);
  if (most > maxBytes)
    throw new BatchTooLargeError("zstd", most === Infinity ? "an unknown number of" : `up to ${most}`, maxBytes);
  return Buffer.from(zstdDecompress(batch));
}

function readOnly(decompress: (batch: Buffer) => Buffer | Promise<Buffer>) {
  return () => ({
    decompress: async (batch: Buffer) => decompress(batch),
    compress: async () => {
      throw new Error("Service B writes uncompressed batches only");
    },
  });
}

/**
 * Lets every kafkajs client in this process read batches compressed with gzip, snappy, lz4 or zstd,
 * none of them past `maxBatchBytes` once decompressed.
 */
export function readEveryKafkaCompression(maxBatchBytes: number): void {
  CompressionCodecs[CompressionTypes.GZIP] = readOnly((batch) => decompressGzip(batch, maxBatchBytes));
  CompressionCodecs[CompressionTypes.Snappy] = readOnly((batch) => decompressSnappy(batch, maxBatchBytes));
  CompressionCodecs[CompressionTypes.LZ4] = readOnly((batch) => decompressLz4(batch, maxBatchBytes));
  CompressionCodecs[CompressionTypes.ZSTD] = readOnly((batch) => decompressZstd(batch, maxBatchBytes));
}
