import { constants as http2Constants } from "node:http2";
import { waitFor } from "@sum/runtime";
import {
  grpcFrame,
  http2Connection,
  type RawOutcome,
  rawCalculateSum,
  type TemporaryPostgres,
} from "@sum/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CONCURRENT_STREAMS } from "../src/transport/grpc.js";
import { startOutboxDatabase } from "../support/outbox-database.js";
import { startTestService, type TestService } from "./harness.js";

let postgres: TemporaryPostgres;
let service: TestService;

beforeAll(async () => {
  postgres = await startOutboxDatabase();
  service = await startTestService(postgres);
});

afterAll(async () => {
  await service?.stop();
  await postgres?.destroy();
});

// SummationRequest { a: 2, b: 3 }: fields 1 and 2, varints.
const TWO_PLUS_THREE = Buffer.from([0x08, 0x02, 0x10, 0x03]);

describe("Service A's gRPC server bounds what one HTTP/2 connection holds", () => {
  it(`one connection opening ${MAX_CONCURRENT_STREAMS + 20} calls at once: the excess 20 are refused with REFUSED_STREAM, the rest are served`, async () => {
    const session = http2Connection(service.service.grpcPort);
    try {
      // Each call sends its headers and nothing more, so each stays open on the server.
      const calls = Array.from({ length: MAX_CONCURRENT_STREAMS + 20 }, () => rawCalculateSum(session));
      const outcomes: Array<RawOutcome | undefined> = calls.map(() => undefined);
      calls.forEach((call, i) => {
        call.outcome.then((outcome) => {
          outcomes[i] = outcome;
        });
      });
      await waitFor(
        "20 calls refused",
        () => outcomes.filter((o) => o?.rstCode === http2Constants.NGHTTP2_REFUSED_STREAM).length === 20,
      );
      expect(outcomes.filter((o) => o !== undefined)).toHaveLength(20);
      // One of the calls the server took, finished: it is answered.
      const open = calls.find((_, i) => outcomes[i] === undefined);
      open?.stream.end(grpcFrame(TWO_PLUS_THREE));
      const answer = await open?.outcome;
      expect(answer?.trailers?.["grpc-status"]).toBe("0");
    } finally {
      session.destroy();
    }
  });
});
