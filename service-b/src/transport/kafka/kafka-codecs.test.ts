import { createRequire } from "node:module";
import { gzipSync } from "node:zlib";
import { compressFrameSync } from "lz4-napi";
import { compress } from "snappyjs";
import { describe, expect, it } from "vitest";
import { emptyRecords, gzipBatch } from "../../../support/record-batches.js";
import { BatchTooLargeError } from "./decompressed-size.js";
import {
  decompressGzip,
  decompressLz4,
  decompressSnappy,
  decompressZstd,
  readEveryKafkaCompression,
} from "./kafka-codecs.js";

const MiB = 1024 * 1024;

const xerialHeader = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);

function xerialFrame(...chunks: string[]): Buffer {
  const blocks = chunks.map((chunk) => {
    const block = Buffer.from(compress(Buffer.from(chunk)));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(block.length);
    return Buffer.concat([length, block]);
  });
  return Buffer.concat([xerialHeader, ...blocks]);
}

describe("snappy batches as Kafka's producers write them", () => {
  it("xerial's framing: the blocks, in order", () => {
    expect(decompressSnappy(xerialFrame("first block,", " second block"), MiB).toString()).toBe(
      "first block, second block",
    );
  });

  it("one raw block, without framing", () => {
    expect(decompressSnappy(Buffer.from(compress(Buffer.from("raw block"))), MiB).toString()).toBe("raw block");
  });

  it("a frame cut inside a block or its length is refused, saying so", () => {
    const frame = xerialFrame("a block long enough to cut");
    expect(() => decompressSnappy(frame.subarray(0, frame.length - 3), MiB)).toThrow(
      "snappy batch: a block is cut off",
    );
    expect(() => decompressSnappy(frame.subarray(0, xerialHeader.length + 2), MiB)).toThrow(
      "snappy batch: a block's length is cut off",
    );
  });
});

/**
 * A Zstandard frame of run-length blocks, as small as a bomb gets: 4 bytes per 128 KiB of output.
 * `windowDescriptor` 0x38 is a 128 KiB window; 0xa8 claims 2 GiB.
 */
function zstdRunFrame(blocks: number, windowDescriptor = 0x38): Buffer {
  const parts = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor])];
  for (let i = 0; i < blocks; i++) {
    const header = ((128 * 1024) << 3) | (1 << 1) | (i === blocks - 1 ? 1 : 0);
    const block = Buffer.alloc(4);
    block.writeUIntLE(header, 0, 3);
    block.writeUInt8(0x61, 3);
    parts.push(block);
  }
  return Buffer.concat(parts);
}

describe("no compressed batch decompresses past the limit, whatever its codec", () => {
  const zeros = Buffer.alloc(8 * MiB);
  const xerial = (data: Buffer, blockBytes: number) => {
    const blocks: Buffer[] = [xerialHeader];
    for (let at = 0; at < data.length; at += blockBytes) {
      const block = Buffer.from(compress(data.subarray(at, at + blockBytes)));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(block.length);
      blocks.push(length, block);
    }
    return Buffer.concat(blocks);
  };

  it.each([
    ["gzip", () => decompressGzip(gzipSync(zeros), MiB)],
    ["snappy, one raw block", async () => decompressSnappy(Buffer.from(compress(zeros)), MiB)],
    ["snappy, xerial's blocks of 64 KiB", async () => decompressSnappy(xerial(zeros, 64 * 1024), MiB)],
    ["lz4", () => decompressLz4(compressFrameSync(zeros), MiB)],
    ["zstd, run-length blocks", async () => decompressZstd(zstdRunFrame(64), MiB)],
    ["zstd, a frame claiming a 2 GiB window", async () => decompressZstd(zstdRunFrame(1, 0xa8), MiB)],
    ["zstd, not a frame", async () => decompressZstd(Buffer.from("not zstd at all"), MiB)],
    ["lz4, not a frame", () => decompressLz4(Buffer.from("not lz4 at all"), MiB)],
  ])("%s: refused with the limit's name, nothing expanded", async (_, decompress) => {
    const refusal = await decompress().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(BatchTooLargeError);
    expect((refusal as Error).message).toMatch(/more than the 1048576 MAX_DECOMPRESSED_BATCH_BYTES allows/);
  });

  it("batches under the limit come out whole, in every codec", async () => {
    const text = Buffer.from(`${"x".repeat(300_000)}the end`);
    expect(await decompressGzip(gzipSync(text), MiB)).toEqual(text);
    expect(decompressSnappy(xerial(text, 32 * 1024), MiB)).toEqual(text);
    expect(await decompressLz4(compressFrameSync(text), MiB)).toEqual(text);
    expect(decompressZstd(zstdRunFrame(4), MiB)).toEqual(Buffer.alloc(4 * 128 * 1024, 0x61));
  });
});

// kafkajs's own decoding of one partition's batches in a fetch response, which calls the codecs.
const require = createRequire(import.meta.url);
const decodeMessages: (
  decoder: unknown,
) => Promise<unknown[]> = require("kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js");
const Decoder: new (buffer: Buffer) => unknown = require("kafkajs/src/protocol/decoder.js");

/** The records kafkajs decodes from a fetch response holding `batches`, in a buffer of its own as each response is. */
async function decodeFetch(...batches: Buffer[]): Promise<number> {
  const size = batches.reduce((sum, batch) => sum + batch.length, 0);
  const response = Buffer.alloc(4 + size);
  response.writeInt32BE(size);
  Buffer.concat(batches).copy(response, 4);
  return (await decodeMessages(new Decoder(response))).length;
}

const emptyRecordsBatch = (count: number, headersPerRecord = 0) =>
  gzipBatch(emptyRecords(count, headersPerRecord), count);

async function refusal(decoding: Promise<unknown>): Promise<Error> {
  const error = await decoding.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(BatchTooLargeError);
  return error as Error;
}

describe("a fetch decodes compressed batches only within MAX_BATCH_RECORDS and MAX_DECOMPRESSED_BATCH_BYTES", () => {
  const limits = { maxBytes: 32 * MiB, maxRecords: 100_000 };

  it("a gzip batch of 400,000 empty records (559 KB) is refused by its count before kafkajs decodes one", async () => {
    readEveryKafkaCompression(limits);
    const batch = emptyRecordsBatch(400_000);
    expect(batch.length).toBeLessThan(600_000);
    expect((await refusal(decodeFetch(batch))).message).toMatch(
      /^a gzip record batch holds 400000 records and record headers, more than the 100000 MAX_BATCH_RECORDS allows: refused/,
    );
  });

  it("each header counts as a record: 500 records of 200 headers each are refused", async () => {
    readEveryKafkaCompression(limits);
    expect((await refusal(decodeFetch(emptyRecordsBatch(500, 200)))).message).toMatch(
      /holds 100500 records and record headers, more than the 100000 MAX_BATCH_RECORDS/,
    );
  });

  it("batches within the records limit alone but past it together: those past it wait for the next fetch, which starts with them", async () => {
    readEveryKafkaCompression(limits);
    const batches = [emptyRecordsBatch(60_000), emptyRecordsBatch(60_000), emptyRecordsBatch(60_000)];
    expect(await decodeFetch(...batches)).toBe(60_000);
    expect(await decodeFetch(...batches.slice(1))).toBe(60_000);
    expect(await decodeFetch(...batches.slice(2))).toBe(60_000);
  });

  it("batches within the bytes limit alone but past it together: those past it wait for the next fetch", async () => {
    // 100,000 empty records are about 890 KB decompressed.
    readEveryKafkaCompression({ maxBytes: 1_200_000, maxRecords: 1_000_000 });
    const batches = [emptyRecordsBatch(100_000), emptyRecordsBatch(100_000)];
    expect(await decodeFetch(...batches)).toBe(100_000);
    expect(await decodeFetch(...batches.slice(1))).toBe(100_000);
  });

  it("a batch past the limits after others waits for the next fetch, where it comes first and is refused", async () => {
    readEveryKafkaCompression(limits);
    const past = emptyRecordsBatch(400_000);
    expect(await decodeFetch(emptyRecordsBatch(1000), past)).toBe(1000);
    await refusal(decodeFetch(past));
  });
});
