import { connect, type Socket } from "node:net";
import { waitFor } from "@sum/runtime";
import type { TemporaryPostgres } from "@sum/test-support";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { type ServiceProcess, startServiceProcess } from "./harness.js";

// More than Node's default listen backlog (511), fewer than a default soft limit of open files.
const BURST = 800;

let postgres: TemporaryPostgres;
let service: ServiceProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startServiceProcess(postgres);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  try {
    process.kill(service.pid, "SIGCONT");
  } catch {}
  await service?.stop();
  await postgres?.destroy();
});

/** One sum over a connection of its own, written by hand: its status code, once the answer ends. */
function answerOf(socket: Socket, a: number): Promise<number> {
  const body = JSON.stringify({ a, b: 1 });
  return new Promise((resolve, reject) => {
    let answer = "";
    socket.on("data", (chunk) => {
      answer += chunk.toString();
    });
    socket.once("error", reject);
    socket.once("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)));
    socket.write(
      `POST /sum HTTP/1.1\r\nHost: service-a\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

it("a burst of connections while the instance is busy waits in its accept queue and is answered, none dropped", async () => {
  const { port } = new URL(service.http);
  // Stopped, the process accepts nothing: the kernel alone completes the handshakes, into the
  // listen backlog. Beyond it, the SYNs are dropped and the callers wait on their retries.
  process.kill(service.pid, "SIGSTOP");
  let connected = 0;
  for (let i = 0; i < BURST; i++) {
    const socket = connect({ host: "127.0.0.1", port: Number(port) }, () => {
      connected++;
    });
    socket.on("error", () => undefined);
    sockets.push(socket);
  }
  await waitFor(`all ${BURST} connections established by the kernel`, () => connected === BURST, 30_000);
  process.kill(service.pid, "SIGCONT");

  const statuses = await Promise.all(sockets.map((socket, i) => answerOf(socket, i)));
  expect(statuses.filter((status) => status !== 200)).toEqual([]);
});
