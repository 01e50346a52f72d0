import { compress } from "snappyjs";
import { describe, expect, it } from "vitest";
import { decompressSnappy } from "./kafka-codecs.js";

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
    expect(decompressSnappy(xerialFrame("first block,", " second block")).toString()).toBe("first block, second block");
  });

  it("one raw block, without framing", () => {
    expect(decompressSnappy(Buffer.from(compress(Buffer.from("raw block")))).toString()).toBe("raw block");
  });

  it("a frame cut inside a block or its length is refused, saying so", () => {
    const frame = xerialFrame("a block long enough to cut");
    expect(() => decompressSnappy(frame.subarray(0, frame.length - 3))).toThrow("snappy batch: a block is cut off");
    expect(() => decompressSnappy(frame.subarray(0, xerialHeader.length + 2))).toThrow(
      "snappy batch: a block's length is cut off",
    );
  });
});
