/**
 * A service for run-service.test.ts, run as a process of its own: runService() exits the process, so
 * it is watched from outside. START and STOP choose how its start and its stop end.
 */
import { z } from "zod";
import { runService } from "../src/index.js";

const configSchema = z.object({
  SERVICE_ID: z.string().default("fixture-1"),
  LOG_LEVEL: z.enum(["info", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  START: z.enum(["succeed", "fail"]).default("succeed"),
  STOP: z.enum(["succeed", "fail", "hang"]).default("succeed"),
});

await runService({
  name: "fixture",
  configSchema,
  start: async (config, logger) => {
    if (config.START === "fail") throw new Error("the database refused the connection");
    // Keeps the process alive, as a listening server does.
    const alive = setInterval(() => undefined, 60_000);
    logger.info("started");
    return {
      async stop() {
        logger.info("stopping");
        if (config.STOP === "fail") throw new Error("the pool would not close");
        if (config.STOP === "hang") return new Promise<void>(() => undefined);
        clearInterval(alive);
      },
    };
  },
});
