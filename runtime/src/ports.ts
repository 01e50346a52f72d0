import { createServer } from "node:net";

// Below the kernel's ephemeral range (32768-60999 here), so no outgoing connection can take a port
// between the moment it is handed out and the moment its server binds it; and never the same twice.
const LOW = 10_000;
const HIGH = 20_000;
const handedOut = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A TCP port on 127.0.0.1 that is free now, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port between ${LOW} and ${HIGH}`);
}

// A whole stack's ports come from blocks above freePort's range and below the ephemeral one: a port of a
// component that a test has stopped or killed is then never handed to another test running meanwhile.
const BLOCK_LOW = 20_000;
const BLOCK_SIZE = 200;
const BLOCKS = Math.floor((32_000 - BLOCK_LOW) / BLOCK_SIZE);

/** The first of BLOCK_SIZE consecutive ports, of which the first `needed` are free now. */
export async function freePortBlock(needed: number): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = BLOCK_LOW + BLOCK_SIZE * Math.floor(Math.random() * BLOCKS);
    const free = await Promise.all(Array.from({ length: needed }, (_, i) => canBind(first + i)));
    if (free.every(Boolean)) return first;
  }
  throw new Error(`no block of ${needed} free ports between ${BLOCK_LOW} and ${BLOCK_LOW + BLOCKS * BLOCK_SIZE}`);
}
