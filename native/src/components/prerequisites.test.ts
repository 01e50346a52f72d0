import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { buildGrpcSum, ensureGoTool, GO_TOOLS } from "./prerequisites.js";

it.each(Object.keys(GO_TOOLS) as Array<keyof typeof GO_TOOLS>)(
  "without %s and without Go, the message says how to get it",
  async (tool) => {
    const home = await mkdtemp(join(tmpdir(), "no-go-"));
    try {
      await expect(ensureGoTool(tool, () => {}, { PATH: join(home, "bin"), HOME: home })).rejects.toThrow(
        `go install ${GO_TOOLS[tool]}`,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  },
);

it("without Go, building make bench's gRPC load generator says Go is missing", async () => {
  const home = await mkdtemp(join(tmpdir(), "no-go-"));
  try {
    await expect(buildGrpcSum(() => {}, { PATH: join(home, "bin"), HOME: home })).rejects.toThrow(
      /there is no Go to build .*grpc-sum with/,
    );
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
