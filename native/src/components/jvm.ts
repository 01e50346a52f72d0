import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { run } from "../process.js";
import { paths, REPO_ROOT, type Settings } from "../settings.js";
import type { Launch } from "./daemon.js";

/** native/jvm: the pom.xml that fetches the jars, and Kafka's, Connect's and Log4j2's configuration. */
export const JVM_CONFIG_DIR = join(REPO_ROOT, "native", "jvm");

/** Where the jars live: fetched from Maven Central once by native/jvm/pom.xml, outside git. */
export function jvmLayout(settings: Settings) {
  const root = settings.JVM_CACHE_DIR;
  return {
    root,
    classpath: join(root, "kafka-libs", "*"),
    pluginPath: join(root, "connect-plugins"),
    jmxAgent: join(root, "jmx", "jmx_prometheus_javaagent.jar"),
  };
}

function complete(settings: Settings): boolean {
  const layout = jvmLayout(settings);
  const libs = join(layout.root, "kafka-libs");
  return (
    existsSync(libs) &&
    readdirSync(libs).some((jar) => jar.startsWith("kafka_2.13-")) &&
    readdirSync(libs).some((jar) => jar.startsWith("connect-runtime-")) &&
    existsSync(join(layout.pluginPath, "debezium-connector-postgres"))
  );
}

/** Downloads Kafka, Connect and the Debezium plugin on first use; later starts reuse the cache. */
export async function ensureJars(settings: Settings, log: (line: string) => void): Promise<void> {
  if (complete(settings)) return;
  log(`fetching Kafka, Kafka Connect and Debezium jars from Maven Central into ${settings.JVM_CACHE_DIR}`);
  await run("mvn", [
    "-q",
    "-B",
    "-f",
    join(JVM_CONFIG_DIR, "pom.xml"),
    "package",
    `-DoutputDir=${settings.JVM_CACHE_DIR}`,
  ]);
  if (!complete(settings)) throw new Error(`jars still missing in ${settings.JVM_CACHE_DIR} after mvn package`);
}

/** The java command line for a main class, with the stack's Log4j2 config and logs in the run directory. */
export function javaArgs(
  settings: Settings,
  options: {
    heap: string;
    logDir: string;
    logFile: string;
    main: string;
    args: string[];
    /** Serves the JMX exporter's Prometheus endpoint on this port, with these rules. */
    metrics?: { port: number; rules: string };
  },
) {
  const agent = options.metrics
    ? [`-javaagent:${jvmLayout(settings).jmxAgent}=127.0.0.1:${options.metrics.port}:${options.metrics.rules}`]
    : [];
  return [
    ...agent,
    ...options.heap.split(/\s+/).filter(Boolean),
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-Djava.awt.headless=true",
    `-Dkafka.logs.dir=${options.logDir}`,
    `-Dkafka.log.file=${options.logFile}`,
    `-Dlog4j2.configurationFile=${join(JVM_CONFIG_DIR, "log4j2.properties")}`,
    "-cp",
    jvmLayout(settings).classpath,
    options.main,
    ...options.args,
  ];
}

/**
 * How a JVM component of the stack is launched: `main` with its rendered `config`, Log4j2 writing
 * <name>.log in the logs folder and standard output going to <name>.stdout.log, the JMX exporter
 * serving on `metricsPort` with the rules prometheus/jmx-<rules>.yml.
 */
export function javaLaunch(
  settings: Settings,
  options: { name: string; heap: string; main: string; config: string; metricsPort: number; rules: string },
): Launch {
  const logs = paths(settings).logs;
  return {
    command: "java",
    args: javaArgs(settings, {
      heap: options.heap,
      logDir: logs,
      logFile: `${options.name}.log`,
      main: options.main,
      metrics: { port: options.metricsPort, rules: join(REPO_ROOT, "prometheus", `jmx-${options.rules}.yml`) },
      args: [options.config],
    }),
    output: join(logs, `${options.name}.stdout.log`),
  };
}
