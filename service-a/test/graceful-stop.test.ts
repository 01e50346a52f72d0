import net from "node:net";
import { status } from "@grpc/grpc-js";
import { summationClient, waitFor } from "@sum/runtime";
import pino from "pino";
import { expect, it } from "vitest";
import { startService } from "../src/service.js";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { serviceConfig } from "./harness.js";

const refusesConnections = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });

// nginx retries no call its connection's GOAWAY cut: a stopping instance must keep each open gRPC
// connection serving until the client closes it (closeGrpc finds them in grpc-js' listeners).
it("a graceful stop keeps an open gRPC connection serving until its client closes it", async () => {
  const postgres = await startOutboxDatabase();
  try {
    const service = await startService(
      serviceConfig(postgres, { SHUTDOWN_TIMEOUT_MS: "30000" }),
      pino({ level: "silent" }),
    );
    const client = summationClient(`127.0.0.1:${service.grpcPort}`);
    expect((await client.calculateSum({ a: 1, b: 2 })).code).toBe(status.OK);

    let stopped = false;
    const stopping = service.stop().then(() => {
      stopped = true;
    });
    await waitFor("the gRPC listener to refuse new connections", () => refusesConnections(service.grpcPort), 10_000);
    const during = await client.calculateSum({ a: 2, b: 3 });
    expect(during.code).toBe(status.OK);
    expect(during.reply?.result).toBe("5");
    expect(stopped).toBe(false);

    client.close();
    await stopping;
  } finally {
    await postgres.destroy();
  }
});
