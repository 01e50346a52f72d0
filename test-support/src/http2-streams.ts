import { type ClientHttp2Session, type ClientHttp2Stream, connect as connectHttp2 } from "node:http2";
import { connect as connectTcp } from "node:net";

const CALCULATE_SUM = "/summation.SummationService/CalculateSum";

/** One gRPC message frame: the uncompressed flag, the length, the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

/**
 * An HTTP/2 connection to 127.0.0.1:`port` from `localAddress` (every 127.0.0.0/8 address is local, and
 * a server sees a client address of its own). Until the server's SETTINGS arrive it may open up to
 * 10,000 streams: streams opened before the connection is up go out in its first write, before the
 * server's limit is known, so a server's limit is tested, not the client's courtesy.
 */
export function http2Connection(port: number, localAddress = "127.0.0.1"): ClientHttp2Session {
  const session = connectHttp2(`http://127.0.0.1:${port}`, {
    peerMaxConcurrentStreams: 10_000,
    createConnection: () => connectTcp({ host: "127.0.0.1", port, localAddress }),
  });
  session.on("error", () => undefined);
  return session;
}

export interface RawOutcome {
  /** The answer's headers (a trailers-only answer carries grpc-status here), its trailers, and the stream's RST code (0 when none). */
  headers?: Record<string, unknown>;
  trailers?: Record<string, unknown>;
  rstCode?: number;
}

export interface RawCall {
  stream: ClientHttp2Stream;
  /** Once the stream has closed. */
  outcome: Promise<RawOutcome>;
}

/**
 * Opens a CalculateSum call on `session` and sends `frame` as its whole request body; with no
 * `frame`, sends nothing after the headers and leaves the call open, as a server sees a slow client.
 */
export function rawCalculateSum(
  session: ClientHttp2Session,
  frame?: Buffer,
  metadata: Record<string, string> = {},
): RawCall {
  const stream = session.request({
    ":method": "POST",
    ":path": CALCULATE_SUM,
    "content-type": "application/grpc",
    te: "trailers",
    ...metadata,
  });
  stream.on("error", () => undefined);
  const outcome = new Promise<RawOutcome>((resolve) => {
    const seen: RawOutcome = {};
    stream.once("response", (headers) => {
      seen.headers = headers;
    });
    stream.once("trailers", (trailers) => {
      seen.trailers = trailers;
    });
    // Read the reply, if any, so the stream can end.
    stream.resume();
    stream.once("close", () => resolve({ ...seen, rstCode: stream.rstCode }));
  });
  if (frame !== undefined) stream.end(frame);
  return { stream, outcome };
}
