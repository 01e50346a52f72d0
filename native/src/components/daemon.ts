import { isAlive, readPid, requireFreePorts, startDaemon, stopProcess, waitUntil } from "../process.js";
import { paths, type Settings } from "../settings.js";
import type { Component } from "./component.js";

/** The process a start launches, once what it needs (configuration, storage) is in place. */
export interface Launch {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** Where its standard output and error go when its log (logFile) is a file it writes itself. */
  output?: string;
}

/** What a start waits for once the process runs. */
export interface Readiness {
  what: string;
  check: () => Promise<boolean>;
  timeoutMs: number;
}

export interface DaemonOptions {
  name: string;
  address: string;
  ports: number[];
  /** The log a failure quotes: the run directory's <name>.log unless told. */
  logFile?: string;
  /** How long a graceful stop may take before SIGKILL. */
  stopTimeoutMs: number;
  /** The signal that asks for a graceful stop; SIGTERM unless told. */
  stopSignal?: NodeJS.Signals;
}

/**
 * A component that is one process the runner starts detached and knows by its pid file (every one
 * but PostgreSQL, which pg_ctl runs): the start/wait/stop sequence they share.
 */
export abstract class DaemonComponent implements Component {
  readonly name: string;
  readonly address: string;
  readonly logFile: string;
  readonly ports: number[];
  private readonly pidFile: string;
  private readonly stopTimeoutMs: number;
  private readonly stopSignal: NodeJS.Signals;

  constructor(settings: Settings, options: DaemonOptions) {
    const p = paths(settings);
    this.name = options.name;
    this.address = options.address;
    this.ports = options.ports;
    this.logFile = options.logFile ?? p.log(options.name);
    this.pidFile = p.pid(options.name);
    this.stopTimeoutMs = options.stopTimeoutMs;
    this.stopSignal = options.stopSignal ?? "SIGTERM";
  }

  async isRunning(): Promise<boolean> {
    return isAlive(readPid(this.pidFile));
  }

  abstract isReady(): Promise<boolean>;

  abstract start(): Promise<void>;

  async stop(): Promise<void> {
    await stopProcess(this.pidFile, this.stopTimeoutMs, this.stopSignal);
  }

  /**
   * Waits until its ports are free, runs `prepare`, launches what it returns and waits until `ready`,
   * giving up at once, with its log, if the process exits meanwhile.
   */
  protected async launch(prepare: () => Promise<Launch>, ready: Readiness): Promise<void> {
    await requireFreePorts(this.name, this.ports);
    const { output, ...launch } = await prepare();
    await startDaemon({ ...launch, logFile: output ?? this.logFile, pidFile: this.pidFile });
    await waitUntil(this.name, ready.what, ready.check, {
      timeoutMs: ready.timeoutMs,
      logFile: this.logFile,
      alive: () => this.isRunning(),
    });
  }
}
