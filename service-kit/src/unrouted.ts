import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AppError } from "./errors.js";
import { httpErrorHandler, sendError } from "./http-errors.js";

/**
 * The methods answered on the path of `url`, as the routes were declared (HEAD with each GET), or
 * undefined when no route has that path.
 */
function allowedMethods(app: FastifyInstance): (url: string) => string | undefined {
  // By pattern: a RegExp's `source` escapes each "/", so it cannot be compared with one.
  const routes = new Map<string, { path: RegExp; methods: Set<string> }>();
  app.addHook("onRoute", (route) => {
    const pattern = `^${route.url.replace(/[.]/g, "\\.").replace(/:[^/]+/g, "[^/]+")}$`;
    // HEAD with each GET, whether Fastify declares its HEAD route (exposeHeadRoutes) or not.
    const methods = [route.method].flat().flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method]));
    const known = routes.get(pattern) ?? { path: new RegExp(pattern), methods: new Set<string>() };
    for (const method of methods) known.methods.add(method);
    routes.set(pattern, known);
  });
  return (url) => {
    const methods = [...routes.values()].find((r) => r.path.test(url.split("?")[0] ?? ""))?.methods;
    return methods && [...methods].join(", ");
  };
}

/**
 * A service's not-found and error handlers (httpErrorHandler): another method on a path a route has
 * is 405 METHOD_NOT_ALLOWED with `Allow` (the methods its routes were declared with, HEAD with each
 * GET), any other path 404 NOT_FOUND. Call it before registering the routes: it learns them as they
 * are added, so `Allow` never goes stale.
 */
export function answerUnrouted(app: FastifyInstance, options: { fastifyErrors?: Record<string, AppError> } = {}): void {
  const allowed = allowedMethods(app);
  const notFound = (request: FastifyRequest, reply: FastifyReply) => {
    const allow = allowed(request.url);
    if (allow) {
      reply.header("Allow", allow);
      return sendError(
        reply,
        new AppError("METHOD_NOT_ALLOWED", `${request.method} is not allowed here; use ${allow}`),
      );
    }
    return sendError(reply, new AppError("NOT_FOUND", `no route for ${request.method} ${request.url}`));
  };
  app.setNotFoundHandler(notFound);
  app.setErrorHandler(httpErrorHandler({ ...options, notFound }));
}
