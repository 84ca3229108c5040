# llmtap container image. Every step is one of the project's own npm commands, so the same production
# build runs in tests without Docker (test/deploy/production-build.slow.test.ts).
#   docker build -t ghcr.io/llmtap/llmtap:0.1.0 .
# Base images are pinned by exact Node version; pin by digest too in your registry mirror if you can.

# 1. Bundle the TypeScript sources with the dev toolchain (esbuild): dist/llmtap.js plus the chunks of lazily
#    loaded features. Production dependencies only (scripts/bundle.ts refuses a dev-only input), so the
#    runtime needs no node_modules at all.
FROM node:24.9.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/bundle.ts ./scripts/bundle.ts
COPY src ./src
COPY providers ./providers
RUN npm run build

# 2. Runtime: the bundle, package.json (the version) and the sidecar template the injector reads.
FROM node:24.9.0-bookworm-slim AS runtime
ENV NODE_ENV=production
# The heap bounds and runtime env vars of the sidecar manifest (deploy/components/llmtap-sidecar/sidecar.yaml explains the
# measurements), so `docker run` gets them too; test/deploy/dockerfile.test.ts keeps the two the same.
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8"
# glibc returns freed memory at the top of its heap (idle RSS; the manifest explains it).
ENV MALLOC_TOP_PAD_=0
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY deploy/components/llmtap-sidecar/sidecar.yaml ./deploy/components/llmtap-sidecar/sidecar.yaml
# Numeric non-root UID/GID (no passwd entry needed), matching runAsUser in the manifests. Nothing is
# written at run time, so the image runs with a read-only root filesystem.
USER 65532:65532
# 4545: the app's LLM calls (listens on 127.0.0.1 in a pod); 4546: admin (/healthz, /readyz).
EXPOSE 4545 4546
# Exec form: node is PID 1 and receives SIGTERM directly (llmtap drains, flushes, exits 0).
ENTRYPOINT ["node", "/app/dist/llmtap.js"]
