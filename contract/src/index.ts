export * from "./kafka.js";
export * from "./limits.js";
export * from "./sum-calculated.js";
export * from "./trace-context.js";
