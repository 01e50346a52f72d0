import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { serviceRoot } from "./service-root.js";

const SERVICE_KIT = dirname(dirname(fileURLToPath(import.meta.url)));

it("finds the package of a module in src/ and of one built to dist/src/ alike", () => {
  expect(serviceRoot(import.meta.url)).toBe(SERVICE_KIT);
  expect(serviceRoot(pathToFileURL(join(SERVICE_KIT, "dist", "src", "main.js")).href)).toBe(SERVICE_KIT);
});

it("a module outside any package: an error naming it", () => {
  expect(() => serviceRoot("file:///nowhere.js")).toThrow("no package.json above /nowhere.js");
});
