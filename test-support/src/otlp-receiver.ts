import http from "node:http";
import type net from "node:net";

export interface OtlpReceiver {
  /** The OTLP/HTTP endpoint to give a service (its spans go to /v1/traces). */
  url: string;
  /** Whether any export held these bytes: trace and span ids are raw bytes in OTLP's protobuf. */
  holds(hexId: string): boolean;
  close(): Promise<void>;
}

/** A real OTLP/HTTP endpoint that answers every export with success and keeps what it was sent. */
export async function otlpReceiver(): Promise<OtlpReceiver> {
  const bodies: Buffer[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      if (request.url === "/v1/traces") bodies.push(Buffer.concat(chunks));
      response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    holds: (hexId) => bodies.some((body) => body.includes(Buffer.from(hexId, "hex"))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
