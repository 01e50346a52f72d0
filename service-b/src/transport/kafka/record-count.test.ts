import { createRequire } from "node:module";
import { expect, it } from "vitest";
import { emptyRecords } from "../../../support/record-batches.js";
import { countRecordsAndHeaders } from "./record-count.js";

// kafkajs's own encoding of a record, as its producer writes them into a batch.
const require = createRequire(import.meta.url);
const encodeRecord: (record: object) => {
  buffer: Buffer;
} = require("kafkajs/src/protocol/recordBatch/record/v0/index.js");

it("counts each record and each of its headers, whatever its key, value and timestamp", () => {
  const records = Buffer.concat(
    Array.from(
      { length: 300 },
      (_, i) =>
        encodeRecord({
          offsetDelta: i,
          timestampDelta: i * 1_000_000_007,
          key: i % 2 ? Buffer.from(`key-${i}`) : null,
          value: Buffer.alloc(i * 50, 1),
          headers: { id: `${i}`, eventType: "SumCalculated", ...(i % 3 ? {} : { traceparent: "00-x-y-01" }) },
        }).buffer,
    ),
  );
  expect(countRecordsAndHeaders(records)).toBe(300 + 300 * 2 + 100);
  expect(countRecordsAndHeaders(emptyRecords(1000, 7))).toBe(8000);
});

it("stops at framing that cannot be read, as kafkajs's decoding does", () => {
  const records = emptyRecords(10);
  expect(countRecordsAndHeaders(records.subarray(0, records.length - 1))).toBe(9);
  expect(countRecordsAndHeaders(Buffer.from([0x01, 0, 0]))).toBe(0);
});
