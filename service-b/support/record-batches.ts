import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { sleep } from "@sum/runtime";

// Kafka record batches built byte by byte, and a producer that writes one as it is: kafkajs's
// producer groups a send's messages in time quadratic in their number (hours for 400,000), and
// cannot write the batches a hostile producer could.

const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32C, which the broker checks a batch against. */
function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Writes Kafka's zigzag varint at `offset`; returns the offset after it. */
function writeVarint(buffer: Buffer, offset: number, value: number): number {
  let zigzag = ((value << 1) ^ (value >> 31)) >>> 0;
  while (zigzag >= 0x80) {
    buffer[offset++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  buffer[offset++] = zigzag;
  return offset;
}

/**
 * The records of a batch: `count` records with no key and no value, each with `headersPerRecord`
 * headers named "h" with no value, at offset deltas 0 to count - 1.
 */
export function emptyRecords(count: number, headersPerRecord = 0): Buffer {
  const buffer = Buffer.alloc(count * (16 + 3 * headersPerRecord) + 16);
  const body = Buffer.alloc(8 + 3 * headersPerRecord + 16);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    // attributes, timestamp delta, offset delta, key, value, headers
    let length = 0;
    body[length++] = 0;
    length = writeVarint(body, length, 0);
    length = writeVarint(body, length, i);
    length = writeVarint(body, length, -1);
    length = writeVarint(body, length, -1);
    length = writeVarint(body, length, headersPerRecord);
    for (let h = 0; h < headersPerRecord; h++) {
      length = writeVarint(body, length, 1);
      body[length++] = 0x68;
      length = writeVarint(body, length, -1);
    }
    offset = writeVarint(buffer, offset, length);
    offset += body.copy(buffer, offset, 0, length);
  }
  return buffer.subarray(0, offset);
}

/** A v2 record batch of `count` records (`records`, gzipped), as a producer without idempotence writes it. */
export function gzipBatch(records: Buffer, count: number): Buffer {
  const compressed = gzipSync(records);
  const header = Buffer.alloc(61);
  header.writeBigInt64BE(0n, 0); // base offset
  header.writeInt32BE(header.length - 12 + compressed.length, 8); // length of what follows
  header.writeInt32BE(-1, 12); // partition leader epoch
  header.writeInt8(2, 16); // magic
  header.writeInt16BE(1, 21); // attributes: gzip
  header.writeInt32BE(count - 1, 23); // last offset delta
  const now = BigInt(Date.now());
  header.writeBigInt64BE(now, 27); // first timestamp
  header.writeBigInt64BE(now, 35); // max timestamp
  header.writeBigInt64BE(-1n, 43); // producer id
  header.writeInt16BE(-1, 51); // producer epoch
  header.writeInt32BE(-1, 53); // base sequence
  header.writeInt32BE(count, 57); // records
  const batch = Buffer.concat([header, compressed]);
  batch.writeUInt32BE(crc32c(batch.subarray(21)), 17);
  return batch;
}

/**
 * Kafka's error codes a producer retries: the broker does not lead the partition yet. A topic's
 * metadata can name its leader before that broker has taken the partition up (KRaft applies the
 * two apart), so a batch written just after the topic was created may be refused with one of these.
 */
const NOT_LED_YET = new Map([
  [3, "UNKNOWN_TOPIC_OR_PARTITION"],
  [5, "LEADER_NOT_AVAILABLE"],
  [6, "NOT_LEADER_OR_FOLLOWER"],
]);

/**
 * Writes `batch` to the partition as it is (Produce v3, acks from all in-sync replicas), again
 * while the broker answers that it does not lead the partition yet, for up to `timeoutMs`.
 */
export async function produceBatch(
  broker: string,
  topic: string,
  partition: number,
  batch: Buffer,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const errorCode = await produceOnce(broker, topic, partition, batch);
    if (errorCode === 0) return;
    const notLed = NOT_LED_YET.get(errorCode);
    if (notLed === undefined) throw new Error(`the broker refused the batch: error code ${errorCode}`);
    if (Date.now() > deadline)
      throw new Error(`the broker still answered ${notLed} (error code ${errorCode}) after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** One Produce request for `batch`; returns the partition's error code (0: written). */
async function produceOnce(broker: string, topic: string, partition: number, batch: Buffer): Promise<number> {
  const clientId = Buffer.from("raw-producer");
  const topicName = Buffer.from(topic);
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length + 2 + 2 + 4 + 4 + 2 + topicName.length + 4 + 4 + 4);
  let at = 4;
  at = request.writeInt16BE(0, at); // Produce
  at = request.writeInt16BE(3, at);
  at = request.writeInt32BE(1, at); // correlation id
  at = request.writeInt16BE(clientId.length, at);
  at += clientId.copy(request, at);
  at = request.writeInt16BE(-1, at); // no transactional id
  at = request.writeInt16BE(-1, at); // acks
  at = request.writeInt32BE(30_000, at);
  at = request.writeInt32BE(1, at);
  at = request.writeInt16BE(topicName.length, at);
  at += topicName.copy(request, at);
  at = request.writeInt32BE(1, at);
  at = request.writeInt32BE(partition, at);
  at = request.writeInt32BE(batch.length, at);
  request.writeInt32BE(at - 4 + batch.length, 0);

  const [host, port] = broker.split(":") as [string, string];
  const response = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect(Number(port), host, () => socket.write(Buffer.concat([request, batch])));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      const received = Buffer.concat(chunks);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        socket.destroy();
        resolve(received);
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error(`the broker closed the connection before answering the produce`)));
  });
  // size, correlation id, topics, the topic's name, partitions, the partition, then its error code
  return response.readInt16BE(4 + 4 + 4 + 2 + topicName.length + 4 + 4);
}
