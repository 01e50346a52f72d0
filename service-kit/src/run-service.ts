import pino, { type Logger } from "pino";
import type { z } from "zod";
import { type LifecycleConfig, loadConfig } from "./config.js";

/** Past SHUTDOWN_TIMEOUT_MS, for what a stop does after draining requests (closing pools, leaving a group). */
const SHUTDOWN_GRACE_MS = 5000;

export interface StoppableService {
  stop(): Promise<void>;
}

export interface ServiceDefinition<Config extends LifecycleConfig> {
  /** As logs and messages name it: "service-a". */
  name: string;
  configSchema: z.ZodType<Config>;
  start: (config: Config, logger: Logger) => Promise<StoppableService>;
}

function createLogger(service: string, config: LifecycleConfig): Logger {
  return pino({ level: config.LOG_LEVEL, base: { service, service_id: config.SERVICE_ID } });
}

/**
 * A service's process from start to exit. Invalid configuration: every problem on stderr, exit 2.
 * A failed start: exit 1. SIGTERM or SIGINT: the service stops, exit 0; exit 1 if its stop fails or
 * overruns SHUTDOWN_TIMEOUT_MS and the grace.
 */
export async function runService<Config extends LifecycleConfig>(service: ServiceDefinition<Config>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(service.name, service.configSchema, process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }

  const logger = createLogger(service.name, config);
  let running: StoppableService;
  try {
    running = await service.start(config, logger);
  } catch (error) {
    logger.fatal({ err: error }, `${service.name} failed to start`);
    process.exit(1);
  }

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const deadline = setTimeout(() => {
      logger.error("shutdown took too long; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + SHUTDOWN_GRACE_MS);
    deadline.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}
