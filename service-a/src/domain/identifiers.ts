import { randomFillSync } from "node:crypto";

// One OpenSSL call fills the pool for about a hundred sums (10 bytes for each event id, 24 for each
// new trace context): a call per identifier was 4-5% of Service A's CPU under load (node --cpu-prof).
const POOL = Buffer.alloc(4096);
let next = POOL.length;

/** Where `size` fresh random bytes start in POOL; they are the caller's until its next call. */
function take(size: number): number {
  if (next + size > POOL.length) {
    randomFillSync(POOL);
    next = 0;
  }
  const start = next;
  next += size;
  return start;
}

/** `size` random bytes, as lowercase hex. */
export function randomHex(size: number): string {
  const start = take(size);
  return POOL.toString("hex", start, start + size);
}

const ID = Buffer.alloc(16);
let lastMs = 0;
let counter = 0;

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, a 12-bit counter in rand_a (section 6.2, method
 * 1), then 62 random bits. Ids made by this process sort in the order they were made: within a
 * millisecond the counter counts (from a random start below 2048), past 4095 it borrows the next
 * millisecond, and a clock stepping back keeps the last millisecond until it passes it again.
 */
export function newEventId(): string {
  const start = take(10);
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    counter = POOL.readUInt16BE(start) & 0x7ff;
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = 0;
  }
  ID.writeUIntBE(lastMs, 0, 6);
  ID[6] = 0x70 | (counter >>> 8);
  ID[7] = counter & 0xff;
  POOL.copy(ID, 8, start + 2, start + 10);
  ID[8] = 0x80 | ((ID[8] as number) & 0x3f);
  const hex = ID.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
