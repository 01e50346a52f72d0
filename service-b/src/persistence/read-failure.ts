import { AppError } from "@sum/service-kit";
import pg from "pg";

/**
 * SQLSTATE classes of a server that cannot answer for now: connection exception (08), insufficient
 * resources (53), operator intervention (57: shutting down, statement timeout), system error (58).
 */
const CANNOT_ANSWER_NOW = /^(08|53|57|58)/;

/**
 * What a failed read of the leader means for the client. Unavailable (503, retry) when the database
 * cannot answer: unreachable, no connection in time, gone mid-query, or one of the classes above.
 * Any other answer of the server (no privilege, no such table) is a fault a retry cannot mend: INTERNAL.
 */
export function readFailure(error: unknown): AppError {
  if (error instanceof pg.DatabaseError && !CANNOT_ANSWER_NOW.test(error.code ?? "")) {
    return new AppError("INTERNAL", "the database refused the read", { cause: error });
  }
  return new AppError("UNAVAILABLE", "the leader database cannot be read; retry later", { cause: error });
}
