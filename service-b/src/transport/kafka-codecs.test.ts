import { gzipSync } from "node:zlib";
import { compressFrameSync } from "lz4-napi";
import { compress } from "snappyjs";
import { describe, expect, it } from "vitest";
import { BatchTooLargeError } from "./decompressed-size.js";
import { decompressGzip, decompressLz4, decompressSnappy, decompressZstd } from "./kafka-codecs.js";

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
