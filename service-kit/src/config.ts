import type { LevelWithSilent } from "pino";
import { z } from "zod";

/** What runService() itself reads from a service's configuration. */
export interface LifecycleConfig {
  SERVICE_ID: string;
  LOG_LEVEL: LevelWithSilent;
  SHUTDOWN_TIMEOUT_MS: number;
}

/** Parses the environment once; every problem is reported together, by variable name. */
export function loadConfig<Config>(service: string, schema: z.ZodType<Config>, env: NodeJS.ProcessEnv): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message}`);
    throw new Error(`invalid ${service} configuration:\n${problems.join("\n")}`);
  }
  return parsed.data;
}

/**
 * The settings runService() reads, for a service's settings schema: how long a stop may take (the
 * service says what that covers) and the log level.
 */
export function lifecycleSettings(shutdown: { defaultMs: number; description: string }) {
  return {
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(shutdown.defaultMs).describe(shutdown.description),
    LOG_LEVEL: z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"])
      .default("info")
      .describe("Log level: fatal, error, warn, info, debug, trace or silent."),
  };
}
