// What the runner, the proof tools and the benchmarks use at run time (tests too, from here): waiting on a
// condition, free ports, creating Kafka topics, and a client of the contract's .proto with the request
// shapes they send.
export { type GrpcOutcome, PROTO_FILE, type SummationClient, type SumReply, summationClient } from "./grpc-client.js";
export { createTopicsAndWait } from "./kafka-topics.js";
export { freePort, freePortBlock } from "./ports.js";
export { requestShapes, type SumRequestShape } from "./request-shapes.js";
export { sleep, waitFor } from "./wait.js";
