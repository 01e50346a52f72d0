/**
 * Host-side steps of the Compose stack: `tsx docker-compose/cli.ts <command>`, run by the Makefile
 * when STACK=compose.
 *   render   fill the shared configuration templates with Compose addresses (docker-compose/rendered/)
 *   service-a-instances   the Service A instances, one a line (for make restart-service-a)
 *   status   the pipeline's figures from Prometheus and Service B, as the native `make status` prints
 * Ports and passwords come from .env, as for the native stack and for Compose itself.
 */
import { relative } from "node:path";
import { pipelineStatus } from "@sum/native/pipeline-status";
import { loadSettings, REPO_ROOT } from "@sum/native/settings";
import { renderComposeConfig, serviceAInstances } from "./render-config.js";

async function main(): Promise<void> {
  const command = process.argv[2];
  const settings = loadSettings();
  switch (command) {
    case "render":
      for (const file of await renderComposeConfig()) console.log(`rendered ${relative(REPO_ROOT, file)}`);
      return;
    case "service-a-instances":
      for (const instance of await serviceAInstances()) console.log(instance);
      return;
    case "status":
      for (const line of await pipelineStatus(settings)) console.log(line);
      return;
    default:
      throw new Error(`unknown command ${command ?? "(none)"}; use render, service-a-instances or status`);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`compose stack: ${error.message}\n`);
  process.exit(1);
});
