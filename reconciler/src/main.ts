import { runService } from "@sum/service-kit";
import { configSchema } from "./config.js";
import { startService } from "./service.js";

await runService({ name: "reconciler", configSchema, start: startService });
