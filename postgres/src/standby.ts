import { backslashQuoted } from "./psql.js";

/** A postgresql.conf string value: single-quoted, quotes doubled. */
export const configQuoted = (value: string) => `'${value.replaceAll("'", "''")}'`;

/** The primary a replica copies and then streams from, as `user` (a role with REPLICATION). */
export interface Primary {
  port: number;
  user: string;
  password: string;
  /** The physical slot on the primary that keeps the WAL the replica still needs; it must exist. */
  slot?: string;
  /** How the primary's pg_stat_replication names this replica. */
  applicationName?: string;
}

/** postgresql.conf lines of a hot standby that streams from `primary`. */
export function standbyConfig(primary: Primary): string[] {
  const conninfo = Object.entries({
    host: "127.0.0.1",
    port: String(primary.port),
    user: primary.user,
    password: primary.password,
    ...(primary.applicationName ? { application_name: primary.applicationName } : {}),
  })
    .map(([key, value]) => `${key}=${backslashQuoted(value)}`)
    .join(" ");
  return [
    "hot_standby = on",
    `primary_conninfo = ${configQuoted(conninfo)}`,
    ...(primary.slot ? [`primary_slot_name = ${configQuoted(primary.slot)}`] : []),
  ];
}
