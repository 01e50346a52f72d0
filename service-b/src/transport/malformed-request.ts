import type { Socket } from "node:net";

const BODY = JSON.stringify({ error: { code: "INVALID_ARGUMENT", message: "malformed HTTP request" } });

/**
 * Fastify's clientErrorHandler: a request Node cannot parse (an unknown method such as FOO, which
 * nginx passes on, or a malformed line) gets the contract's 400 instead of Fastify's own body.
 */
export function answerMalformedRequest(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(BODY)}\r\nConnection: close\r\n\r\n${BODY}`,
  );
}
