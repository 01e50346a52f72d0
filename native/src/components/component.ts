/** One process of the native stack, as `make start/stop/status` sees it. */
export interface Component {
  name: string;
  address: string;
  logFile: string;
  /** Every port it listens on: free before it starts, and whose holder a refusal names. */
  ports: number[];
  /** Its process exists. */
  isRunning(): Promise<boolean>;
  /** It answers its health check. */
  isReady(): Promise<boolean>;
  /** Initialises what is missing, starts it, and waits until it is ready; throws a StackError otherwise. */
  start(): Promise<void>;
  /** Stops it gracefully, keeping its data. */
  stop(): Promise<void>;
}
