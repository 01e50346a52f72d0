import { DEAD_LETTER_HEADERS, DEAD_LETTER_REPLAYED_HEADER } from "@sum/contract";
import { describe, expect, it } from "vitest";
import { apart, asDeadLetterHeaders } from "./dead-letter-headers.js";

const pipelineNames = [...Object.values(DEAD_LETTER_HEADERS), DEAD_LETTER_REPLAYED_HEADER];

describe("a dead letter's headers", () => {
  it("are the pipeline's under every dlq-* name, the original's apart, and come back as they were", () => {
    const original = {
      id: "an-id",
      ...Object.fromEntries(pipelineNames.map((name) => [name, `forged ${name}`])),
      "dlq-original-header-id": "already prefixed",
      "DLQ-Reason": "another name (Kafka's header names are case-sensitive)",
    };
    const pipeline = Object.fromEntries(pipelineNames.map((name) => [name, `the pipeline's ${name}`]));
    const stored = { ...asDeadLetterHeaders(original), ...pipeline };
    expect(Object.keys(stored)).toHaveLength(Object.keys(original).length + pipelineNames.length);

    const read = apart(stored);
    expect(Object.fromEntries(read.pipeline)).toEqual(pipeline);
    expect(read.original).toEqual(original);
  });
});
