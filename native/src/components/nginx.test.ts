import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, rawHttpExchange, waitFor } from "@sum/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { portInUse } from "../process.js";
import { loadSettings, paths } from "../settings.js";
import { NGINX, Nginx } from "./nginx.js";

// The real nginx with nginx/nginx.conf, in front of a Service A instance that is not there: what
// nginx answers by itself.
let runDir: string;
let nginx: ChildProcess;
let port: number;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), "nginx-test-"));
  port = await freePort();
  const settings = loadSettings(
    {
      ...process.env,
      RUN_DIR: runDir,
      NGINX_HTTP_PORT: String(port),
      NGINX_GRPC_PORT: String(await freePort()),
      NGINX_STATUS_PORT: String(await freePort()),
      SERVICE_A_INSTANCES: "1",
      // Nothing listens there.
      SERVICE_A_HTTP_PORT_BASE: String(await freePort()),
      SERVICE_A_GRPC_PORT_BASE: String(await freePort()),
    },
    join(runDir, "no.env"),
  );
  await mkdir(paths(settings).config, { recursive: true });
  const { config, tempDir } = await new Nginx(settings).writeConfig();
  nginx = spawn(NGINX, ["-p", tempDir, "-c", config], { stdio: "ignore" });
  await waitFor("nginx to listen", () => portInUse(port));
});

afterAll(async () => {
  nginx.kill("SIGTERM");
  await new Promise((resolve) => nginx.once("exit", resolve));
  await rm(runDir, { recursive: true, force: true });
});

const exchange = (request: string) =>
  rawHttpExchange(port, request.replace("\r\n\r\n", "\r\nHost: x\r\nConnection: close\r\n\r\n"));

describe("nginx's own answers are in the contract's JSON shape, with the contract's status", () => {
  it("no instance reachable: 503 UNAVAILABLE with Retry-After (not the upstream's 502)", async () => {
    const answer = await exchange(
      "POST /sum HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    );
    expect(answer).toMatch(/^HTTP\/1.1 503/);
    expect(answer).toMatch(/\r\nRetry-After: 1\r\n/);
    expect(answer).toContain('"code":"UNAVAILABLE"');
  });

  it("TRACE on a route: 405 with that route's Allow; elsewhere 404", async () => {
    expect(await exchange("TRACE /sum HTTP/1.1\r\n\r\n")).toMatch(
      /^HTTP\/1.1 405[\s\S]*\r\nAllow: POST\r\n[\s\S]*"code":"METHOD_NOT_ALLOWED"/,
    );
    expect(await exchange("TRACE /openapi.json HTTP/1.1\r\n\r\n")).toMatch(/\r\nAllow: GET, HEAD\r\n/);
    expect(await exchange("TRACE /admin HTTP/1.1\r\n\r\n")).toMatch(/^HTTP\/1.1 404[\s\S]*"code":"NOT_FOUND"/);
  });

  it("a request line over 8 KiB or an unknown transfer coding: 400 INVALID_ARGUMENT", async () => {
    for (const request of [
      `GET /${"a".repeat(9000)} HTTP/1.1\r\n\r\n`,
      "POST /sum HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    ]) {
      const answer = await exchange(request);
      expect(answer).toMatch(/^HTTP\/1.1 400/);
      expect(answer).toMatch(/\r\nContent-Type: application\/json\r\n/);
      expect(answer).toContain('"code":"INVALID_ARGUMENT"');
    }
  });
});
