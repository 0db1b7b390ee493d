# syntax=docker/dockerfile:1
# The hub image: every hub service (gateway, invite, peering, tunnel-proxy, audit, drift) compiled, one image;
# the command names the service (the chart and compose.yaml run one service per container):
#   docker build -f deploy/hub.Dockerfile -t daalu/hub:0.1.0 .
#   docker run daalu/hub:0.1.0 services/gateway/dist/main.js
# Built with the same steps the tests run: `npm ci`, `npm run build` (scripts/build.sh, pinned by
# packages/stack/test/compiled.test.ts) and `npm run build -w web` (the operator app the gateway serves).

ARG NODE_IMAGE=node:22-trixie-slim

# --- build: all dependencies, compile, build the web app --------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/proto/package.json packages/proto/
COPY packages/runtime/package.json packages/runtime/
COPY packages/wireguard/package.json packages/wireguard/
COPY packages/rbac/package.json packages/rbac/
COPY services/audit/package.json services/audit/
COPY services/drift/package.json services/drift/
COPY services/gateway/package.json services/gateway/
COPY services/invite/package.json services/invite/
COPY services/peering/package.json services/peering/
COPY services/tunnel-proxy/package.json services/tunnel-proxy/
COPY edge/package.json edge/
COPY web/package.json web/
RUN npm ci --no-audit --no-fund --ignore-scripts --include-workspace-root \
      --workspace @daalu/proto --workspace @daalu/runtime --workspace @daalu/wireguard --workspace @daalu/rbac \
      --workspace @daalu/audit --workspace @daalu/drift --workspace @daalu/gateway --workspace @daalu/invite \
      --workspace @daalu/peering --workspace @daalu/tunnel-proxy --workspace @daalu/edge --workspace @daalu/web
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/
COPY packages/proto/src packages/proto/src
COPY packages/runtime/src packages/runtime/src
COPY packages/wireguard/src packages/wireguard/src
COPY packages/rbac/src packages/rbac/src
COPY services services
COPY edge/src edge/src
COPY web web
RUN npm run build && npm run build -w web

# --- deps: production dependencies only --------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/packages/proto/package.json packages/proto/
COPY --from=build /src/packages/runtime/package.json packages/runtime/
COPY --from=build /src/packages/wireguard/package.json packages/wireguard/
COPY --from=build /src/packages/rbac/package.json packages/rbac/
COPY --from=build /src/services/audit/package.json services/audit/
COPY --from=build /src/services/drift/package.json services/drift/
COPY --from=build /src/services/gateway/package.json services/gateway/
COPY --from=build /src/services/invite/package.json services/invite/
COPY --from=build /src/services/peering/package.json services/peering/
COPY --from=build /src/services/tunnel-proxy/package.json services/tunnel-proxy/
RUN npm ci --no-audit --no-fund --ignore-scripts --omit=dev \
      --workspace @daalu/proto --workspace @daalu/runtime --workspace @daalu/wireguard --workspace @daalu/rbac \
      --workspace @daalu/audit --workspace @daalu/drift --workspace @daalu/gateway --workspace @daalu/invite \
      --workspace @daalu/peering --workspace @daalu/tunnel-proxy \
 && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
# The hub WireGuard node (peering with PEERING_WG=on): wg for the kernel module, wireguard-go without
# one, iproute2 for addresses and routes. kubectl: the gateway's one-shot kubectl panel.
RUN apt-get update \
 && apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 kubernetes-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app ./
COPY --from=build /src/packages/proto/dist packages/proto/dist
COPY --from=build /src/packages/runtime/dist packages/runtime/dist
COPY --from=build /src/packages/wireguard/dist packages/wireguard/dist
COPY --from=build /src/packages/rbac/dist packages/rbac/dist
COPY --from=build /src/services/audit/dist services/audit/dist
COPY --from=build /src/services/gateway/dist services/gateway/dist
COPY --from=build /src/services/invite/dist services/invite/dist
COPY --from=build /src/services/peering/dist services/peering/dist
COPY --from=build /src/services/tunnel-proxy/dist services/tunnel-proxy/dist
COPY --from=build /src/web/dist web/dist
COPY deploy/daalu-edge deploy/daalu-edge
ENV NODE_ENV=production \
    DAALU_METRICS_LISTEN=0.0.0.0:9464
# Unprivileged by default; only the WireGuard node's pod runs as root, with NET_ADMIN alone (the chart).
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "--conditions=daalu-dist", "--enable-source-maps"]
CMD ["services/gateway/dist/main.js"]
