import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each integration file starts its own PostgreSQL; two at a time suit a 2-core machine.
    maxWorkers: 2,
  },
});
