import { hostname } from "node:os";
import { EVENTS_TOPIC } from "@sum/contract";
import { checkKafkaSasl, kafkaSaslSettings, lifecycleSettings } from "@sum/service-kit";
import { z } from "zod";

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();
const postgresUrl = z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgresql:// URL" });

/**
 * What the stack running the reconciler decides (native/src/components/node-service.ts,
 * docker-compose/docker-compose.yml, the chart): where it listens, the two databases as its own
 * role, Kafka (and the Kafka user it authenticates as, in the chart), Debezium's slot, and Service B's
 * retention of applied ids, which bounds the window.
 */
const wiring = z.object({
  SERVICE_ID: z.string().min(1).default(`reconciler-${hostname()}`),
  HOST: z.string().min(1).default("127.0.0.1"),
  HTTP_PORT: port.default(8084),
  OUTBOX_DATABASE_URL: postgresUrl,
  TOTALS_DATABASE_URL: postgresUrl,
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .default("127.0.0.1:9092")
    .transform((value) => value.split(",").map((broker) => broker.trim())),
  KAFKA_TOPIC: z.string().min(1).default(EVENTS_TOPIC),
  ...kafkaSaslSettings,
  DEBEZIUM_SLOT: z.string().min(1),
  // Service B's PROCESSED_RETENTION_DAYS: an event re-sent after its id left processed_events would
  // be applied a second time, so the window must not outlast it.
  PROCESSED_RETENTION_DAYS: z.coerce.number().positive(),
});

/**
 * What an operator may tune. The stacks pass each from .env as RECONCILE_<name>; .env.example lists
 * them with these descriptions and defaults.
 */
export const settingsSchema = z.object({
  WINDOW_HOURS: z.coerce
    .number()
    .int()
    .min(1, "must be at least 1 (hour): the outbox never forgets its last hour")
    .default(24)
    .describe("How long acknowledged events are kept in the outbox and checked against the total, in hours."),
  GRACE_SECONDS: positive
    .default(60)
    .describe("How old a minute of events must be before it is checked: an event not applied by then is looked at."),
  REPAIR: z
    .enum(["true", "false"], { error: "must be true or false" })
    .default("true")
    .transform((value) => value === "true")
    .describe("Send missing events again through the outbox (true), or only report them (false)."),
  INTERVAL_MS: positive.default(10_000).describe("How often a pass runs."),
  APPLY_WAIT_SECONDS: positive
    .default(600)
    .describe(
      "How long Service B's lag is waited on before what Kafka held is judged (Connect's lag is waited on for ever).",
    ),
  MAX_RESEND_ATTEMPTS: positive
    .max(10)
    .default(3)
    .describe("How many times a missing event is sent again, each after the last had its chance."),
  RECHECK_MINUTES: positive
    .default(60)
    .describe("How often a minute found whole is compared again (an event lost from the total later is found)."),
  FORGET_BATCH: positive
    .default(10_000)
    .describe("Most events past the window deleted from the outbox in one statement."),
  ...lifecycleSettings({ defaultMs: 15_000, description: "How long a stop may take before the process exits anyway." }),
});

/**
 * Why a reconcile window of `windowHours` is refused beside Service B's retention of applied ids
 * (`retention.name`, as the caller's configuration names it), or undefined when it fits: an event
 * re-sent after its id left processed_events would be applied a second time. The native stack
 * checks its .env with it too, before anything starts.
 */
export function windowPastRetention(
  windowHours: number,
  retention: { days: number; name: string },
): string | undefined {
  const retentionHours = retention.days * 24;
  if (windowHours <= retentionHours) return undefined;
  return (
    `${windowHours} hours is more than ${retention.name} = ${retention.days} (${retentionHours} hours): ` +
    "an event re-sent after its id was pruned would be applied twice"
  );
}

export const configSchema = wiring.extend(settingsSchema.shape).superRefine((config, context) => {
  const problem = windowPastRetention(config.WINDOW_HOURS, {
    days: config.PROCESSED_RETENTION_DAYS,
    name: "Service B's PROCESSED_RETENTION_DAYS",
  });
  if (problem) context.addIssue({ code: "custom", path: ["WINDOW_HOURS"], message: problem });
  checkKafkaSasl(config, context);
});

export type Config = z.infer<typeof configSchema>;
