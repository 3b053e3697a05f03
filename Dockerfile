# Elevate's image: the API and the workers both run from it, with the command `api` or `worker`.
#
#   docker build -t elevate:0.1.0 --build-arg ELEVATE_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .
#   docker run --rm elevate:0.1.0 keygen --admin
#
# node:22.23.2-bookworm-slim (Node.js 22 LTS): docker-library/official-images, library/node
# (commit 37079fb336f5, 2026-08-22). Both stages use the same image, so the native modules built in
# the first (better-sqlite3, Temporal's core bridge) match the runtime of the second.

FROM node:22.23.2-bookworm-slim AS build
WORKDIR /app
# Compilers for native modules that have no prebuilt binary for this platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22.23.2-bookworm-slim
WORKDIR /app
# The commit the image was built from: part of the build id workers give Temporal
# (docker build --build-arg ELEVATE_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .).
ARG ELEVATE_GIT_COMMIT=unknown
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 ELEVATE_GIT_COMMIT=${ELEVATE_GIT_COMMIT}
# Owned by root and not writable by the user the processes run as; nothing is written at run time
# (the image also runs with a read-only root filesystem).
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/examples ./examples
# `node` (uid 1000) comes with the base image.
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/bin/elevate.js"]
CMD ["api"]
