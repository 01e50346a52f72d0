import { decompress as zstdDecompress } from "fzstd";
import kafkajs from "kafkajs";
import { decompressFrame as lz4DecompressFrame } from "lz4-napi";
import { uncompress as snappyUncompress } from "snappyjs";

// kafkajs reads gzip batches itself and refuses the other codecs Kafka has. A topic holds them once its
// producer compresses (Connect's producer.override.compression.type) or the topic's compression.type
// makes the broker recompress: without these, the consumer stops at the first such batch. Service B
// only reads them; what it writes (dead letters) goes uncompressed.

// Not among the names Node finds in kafkajs' CommonJS exports: read from the whole module.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/** The magic, version and compatible version that open a snappy batch in xerial's framing (Java's producers). */
const XERIAL_HEADER = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_LENGTH = 16;

/** Snappy as Kafka's producers write it: xerial's framing (16-byte header, then length-prefixed blocks), or one raw block. */
export function decompressSnappy(batch: Buffer): Buffer {
  if (batch.length < XERIAL_HEADER_LENGTH || !batch.subarray(0, XERIAL_HEADER.length).equals(XERIAL_HEADER)) {
    return Buffer.from(snappyUncompress(batch));
  }
  const blocks: Buffer[] = [];
  let offset = XERIAL_HEADER_LENGTH;
  while (offset < batch.length) {
    if (offset + 4 > batch.length) throw new Error("snappy batch: a block's length is cut off");
    const length = batch.readUInt32BE(offset);
    offset += 4;
    if (offset + length > batch.length) throw new Error("snappy batch: a block is cut off");
    blocks.push(Buffer.from(snappyUncompress(batch.subarray(offset, offset + length))));
    offset += length;
  }
  return Buffer.concat(blocks);
}

function readOnly(decompress: (batch: Buffer) => Buffer | Promise<Buffer>) {
  return () => ({
    decompress: async (batch: Buffer) => decompress(batch),
    compress: async () => {
      throw new Error("Service B writes uncompressed batches only");
    },
  });
}

/** Lets every kafkajs client in this process read batches compressed with snappy, lz4 or zstd. */
export function readEveryKafkaCompression(): void {
  CompressionCodecs[CompressionTypes.Snappy] = readOnly(decompressSnappy);
  CompressionCodecs[CompressionTypes.LZ4] = readOnly(lz4DecompressFrame);
  CompressionCodecs[CompressionTypes.ZSTD] = readOnly((batch) => Buffer.from(zstdDecompress(batch)));
}
