// What other packages' tests take of Service B (`@sum/service-b/support`): the databases and topics set up
// as the stack sets them up, Service B as a child process, event records, and reading its dead letters.
export { readDeadLetters } from "../src/transport/dead-letters/dead-letter-topic.js";
export { produce, sumEvent, uniqueNames } from "./events.js";
export { createTopics, type Databases, startDatabases } from "./harness.js";
export { PASSWORDS, ServiceBProcess, serviceEnv } from "./service-b-process.js";
