import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ASYNCAPI_PATH, renderAsyncApi } from "./asyncapi.js";

writeFileSync(join(import.meta.dirname, "..", "..", ASYNCAPI_PATH), renderAsyncApi());
