# syntax=docker/dockerfile:1
# tasks-api: build with dev dependencies, run with production ones only, as a non-root user.
#   docker build -t tasks-api .
#   docker run -e DATABASE_URL=postgres://… -e JWT_SECRET=… -p 8000:8000 tasks-api
# (compose.yaml runs two instances on PostgreSQL and Redis.)

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The client package is a workspace: npm ci reads its manifest (its build runs with the service's).
COPY packages/client/package.json packages/client/tsconfig.json packages/client/
# All of it: TypeScript 7's compiler is a native binary in an optional dependency.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY tools/build.mjs tools/
COPY src src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    HEALTH_PORT=9000
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
# Optional dependencies here are Node 24 from npm (the image has it), the embedded PostgreSQL (production
# runs on DATABASE_URL) and piscina's thread-priority addon: none is needed at run time.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY migrations migrations
COPY --from=build /app/dist dist
# The image's `node` user (uid 1000): nothing here runs as root, and the app cannot rewrite itself.
USER node
# 9000: /health/live from a worker thread (HealthPort.ts), answered however busy the main loop is;
# 503 only when the main loop has hung past HEALTH_STALL_TIMEOUT. Point liveness probes there.
EXPOSE 8000 9000
# Liveness only (readiness is /health/ready on PORT, for the orchestrator's traffic decisions).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.HEALTH_PORT}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains in-flight requests (SHUTDOWN_GRACE) before the process exits 0.
STOPSIGNAL SIGTERM
# The same command as `npm start` (test/ops/shipping.test.ts holds them equal), with Node as PID 1's
# only process, so the signal reaches it.
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=32", "dist/main.js"]
