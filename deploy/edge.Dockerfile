# syntax=docker/dockerfile:1
# The edge agent image: one program, `bootstrap` (Job) or `run` (Deployment).
#   docker build -f deploy/edge.Dockerfile -t daalu/edge:0.1.0 .
# Compiled with `npm run build` (scripts/build.sh), the step the tests run; WireGuard from Debian:
# wireguard-tools (wg) for the kernel module, wireguard-go when the node has no module, iproute2 for
# addresses and links.

ARG NODE_IMAGE=node:22-trixie-slim

# --- build: the workspaces the edge imports, compiled ------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/proto/package.json packages/proto/
COPY packages/runtime/package.json packages/runtime/
COPY packages/wireguard/package.json packages/wireguard/
COPY services/audit/package.json services/audit/
COPY services/gateway/package.json services/gateway/
COPY services/invite/package.json services/invite/
COPY services/peering/package.json services/peering/
COPY services/tunnel-proxy/package.json services/tunnel-proxy/
COPY edge/package.json edge/
# scripts/build.sh compiles the hub services with the edge (one tsc program), so their dependencies come too.
RUN npm ci --no-audit --no-fund --ignore-scripts --include-workspace-root \
      --workspace @daalu/proto --workspace @daalu/runtime --workspace @daalu/wireguard \
      --workspace @daalu/audit --workspace @daalu/gateway --workspace @daalu/invite \
      --workspace @daalu/peering --workspace @daalu/tunnel-proxy --workspace @daalu/edge
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/
COPY packages/proto/src packages/proto/src
COPY packages/runtime/src packages/runtime/src
COPY packages/wireguard/src packages/wireguard/src
COPY services services
COPY edge/src edge/src
RUN npm run build

# --- deps: the edge's production dependencies only ---------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/packages/proto/package.json packages/proto/
COPY --from=build /src/packages/runtime/package.json packages/runtime/
COPY --from=build /src/packages/wireguard/package.json packages/wireguard/
COPY --from=build /src/edge/package.json edge/
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev \
      --workspace @daalu/edge --workspace @daalu/runtime --workspace @daalu/proto --workspace @daalu/wireguard \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app ./
COPY --from=build /src/packages/proto/dist packages/proto/dist
COPY --from=build /src/packages/runtime/dist packages/runtime/dist
COPY --from=build /src/packages/wireguard/dist packages/wireguard/dist
COPY --from=build /src/edge/dist edge/dist
ENV NODE_ENV=production
# Unprivileged by default (the bootstrap Job runs as 65534); the chart runs `run` as root with
# NET_ADMIN alone, which a capability needs to be effective.
USER 65534:65534
ENTRYPOINT ["node", "--conditions=daalu-dist", "--enable-source-maps", "/app/edge/dist/main.js"]
CMD ["run"]
