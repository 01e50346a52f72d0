import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ensureGrpcurl, GRPCURL_MODULE } from "./prerequisites.js";

it("without grpcurl and without Go, the message says how to get grpcurl", async () => {
  const home = await mkdtemp(join(tmpdir(), "no-go-"));
  try {
    await expect(ensureGrpcurl(() => {}, { PATH: join(home, "bin"), HOME: home })).rejects.toThrow(
      `go install ${GRPCURL_MODULE}`,
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
