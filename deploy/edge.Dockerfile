# The edge agent image: one program, `bootstrap` (Job) or `run` (Deployment).
#   docker build -f deploy/edge.Dockerfile -t daalu/edge:0.1.0 .
# Node 20 + tsx as everywhere in the project (no build step); WireGuard from
# Debian: wireguard-tools (wg) for the kernel module, wireguard-go when the
# node has no module, iproute2 for addresses and links.
FROM node:20-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends wireguard-tools wireguard-go iproute2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Only the workspaces the edge imports, so the image does not change with the hub's services.
COPY package.json package-lock.json ./
COPY packages/proto/package.json packages/proto/
COPY packages/runtime/package.json packages/runtime/
COPY packages/wireguard/package.json packages/wireguard/
COPY edge/package.json edge/
RUN npm ci --no-audit --no-fund --ignore-scripts \
      --workspace @daalu/edge --workspace @daalu/runtime --workspace @daalu/proto --workspace @daalu/wireguard \
      --include-workspace-root \
 && npm cache clean --force
COPY tsconfig.json ./
COPY packages/proto/src packages/proto/src
COPY packages/runtime/src packages/runtime/src
COPY packages/wireguard/src packages/wireguard/src
COPY edge/src edge/src

ENV NODE_ENV=production
# tsx compiles into the temp dir; the chart mounts an emptyDir at /tmp (read-only root).
ENTRYPOINT ["node", "--import", "tsx", "/app/edge/src/main.ts"]
CMD ["run"]
