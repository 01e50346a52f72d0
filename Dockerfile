# syntax=docker/dockerfile:1
# Service A, Service B and the reconciler: one recipe, the build argument SERVICE naming the folder
# (and so the package @sum/<SERVICE>). Build from the repository root:
#   docker build --build-arg SERVICE=service-a .
# The build stage runs the workspace commands CI runs (make install, make build); the runtime stage
# keeps only the compiled service, its SQL migrations, the .proto and its production dependencies.

FROM node:24.22.3-bookworm-slim AS build
ARG SERVICE
RUN test -n "$SERVICE" || { echo "the build argument SERVICE is required: service-a, service-b or reconciler" >&2; exit 1; }
WORKDIR /repo
# The pnpm version pinned by package.json's packageManager field, installed as .ci/run does.
COPY package.json ./
RUN npm install -g "pnpm@$(node -p "require('./package.json').packageManager.split('@')[1]")"
COPY . .
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile
RUN pnpm --filter "@sum/${SERVICE}..." build
# --legacy: pnpm 10 deploys without it only from workspaces with inject-workspace-packages=true.
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm --filter "@sum/${SERVICE}" deploy --prod --legacy /deploy
# COPY needs a source: a service without SQL migrations (the reconciler) gets an empty db/.
RUN mkdir -p /deploy/db

FROM node:24.22.3-bookworm-slim
ARG SERVICE
ENV NODE_ENV=production
# src/paths.ts finds db/ beside dist/ and Service A's .proto in ../proto, as in the repository.
WORKDIR /app/${SERVICE}
COPY --from=build /deploy/package.json ./
COPY --from=build /deploy/node_modules ./node_modules
COPY --from=build /deploy/dist/src ./dist/src
COPY --from=build /deploy/db ./db
COPY proto/ /app/proto/
# The image's unprivileged user; the files stay root's, so the service cannot change its own code.
USER node
# Its ports are its settings (HTTP_PORT, GRPC_PORT), which Compose and the chart set.
CMD ["node", "dist/src/main.js"]
