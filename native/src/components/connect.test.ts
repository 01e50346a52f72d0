import { createServer, type Server } from "node:net";
import { freePort } from "@sum/runtime";
import { afterEach, expect, it } from "vitest";
import { nonLoopbackAddresses } from "../process.js";
import { loadSettings } from "../settings.js";
import { KafkaConnect } from "./connect.js";

/** Stands in for Connect's REST listener: what is checked is only where the port answers. */
let listener: Server | undefined;

async function listen(host: string): Promise<KafkaConnect> {
  const port = await freePort();
  listener = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listener?.listen(port, host, resolve));
  return new KafkaConnect(loadSettings({ ...process.env, CONNECT_PORT: String(port) }), () => undefined);
}

afterEach(() => {
  listener?.close();
  listener = undefined;
});

const addresses = nonLoopbackAddresses();

it.skipIf(addresses.length === 0)(
  "a REST port answering on another address of the machine stops the start, naming the address",
  async () => {
    const connect = await listen("0.0.0.0");
    const port = connect.ports[0];
    const ipv4 = addresses.find((address) => !address.includes(":"));
    const refused = connect.requireRestOnLoopbackOnly();
    await expect(refused).rejects.toThrow(`kafka-connect: its REST API answers on port ${port} of ${ipv4}`);
    await expect(refused).rejects.toThrow(
      "whoever reaches the host could change or add connectors. Its listeners (native/jvm/connect-distributed.properties) must be http://127.0.0.1 only",
    );
  },
);

it("a REST port on 127.0.0.1 only passes", async () => {
  const connect = await listen("127.0.0.1");
  await expect(connect.requireRestOnLoopbackOnly()).resolves.toBeUndefined();
});
