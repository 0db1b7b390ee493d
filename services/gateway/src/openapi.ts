import { bootstrapBody, createClusterBody, idParam, listInvitesQuery, setSubnetBody } from "./http/schemas.js";
import { auditCallsQuery, usageQuery } from "./http/audit-routes.js";
import { kubectlBody } from "./http/kubectl-run.js";
import { deploymentLogsQuery, rolloutsQuery, rolloutStatusQuery, unhealthyPodsQuery } from "./http/queries.js";
import { historyQuery } from "./http/cluster-detail.js";
import { eventsQuery } from "./http/events.js";
import { targetParams } from "./http/targets.js";
import { WEB_APP_ROUTES } from "./http/web.js";
import { driftPaths, driftSchemas } from "./openapi-drift.js";
import { authPaths } from "./openapi-auth.js";
import { rbacPaths } from "./openapi-rbac.js";

/** The hand-written OpenAPI 3.1 document of every route; test/http.test.ts ("OpenAPI lists every registered route") fails on a route not described here. */

const ts = { type: ["string", "null"], format: "date-time" } as const;

const problem = {
  description: "error (RFC 9457 problem details)",
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
} as const;

const errors = { "400": problem, "401": problem, "403": problem, "404": problem, "409": problem, "413": problem, "415": problem, "500": problem, "503": problem };
const publicErrors = { "400": problem, "404": problem, "409": problem, "410": problem, "413": problem, "415": problem, "429": problem, "500": problem, "503": problem };

function json(schema: object, description = "OK") {
  return { description, content: { "application/json": { schema } } };
}
function body(schema: object) {
  return { required: true, content: { "application/json": { schema } } };
}
const webPage = { get: { summary: "A page of the web app (its index.html; the app routes in the browser)", security: [], responses: { "200": { description: "HTML page", content: { "text/html": {} } } } } };
const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });
const idParams = [{ name: "id", in: "path", required: true, schema: idParam.properties.id }];
/** A bearer API token, or a session cookie (then X-CSRF-Token on anything but GET and HEAD). */
const secured = [{ bearer: [] }, { session: [] }];
/** Query parameters from a route's querystring schema. */
function queryParams(schema: { properties: object; required?: readonly string[] }) {
  return Object.entries(schema.properties).map(([name, sch]) => ({ name, in: "query", required: (schema.required ?? []).includes(name), schema: sch }));
}
const query = (summary: string, qs: { properties: object; required?: readonly string[] } | undefined, result: object) => ({
  get: { summary, security: secured, parameters: [...idParams, ...(qs ? queryParams(qs) : [])], responses: { "200": json(result), ...errors, "504": problem } },
});
const obj = (properties: object) => ({ type: "object", properties });
const str = { type: "string" } as const;
const STATUS = { type: "string", enum: ["pending_enrollment", "awaiting_handshake", "connected", "disconnected", "error", "unspecified"] } as const;
const int = { type: "integer" } as const;
/** An audit row's session (exec, attach, port-forward), null for a plain call. */
const auditSession = {
  type: ["object", "null"],
  properties: {
    id: { type: "string" }, state: { type: "string", enum: ["open", "completed", "interrupted", "unknown"] }, command: { type: "array", items: { type: "string" } }, container: { type: ["string", "null"] },
    ports: { type: "array", items: { type: "string" } }, endedAt: ts, closeReason: { type: ["string", "null"] },
    exit: { type: ["object", "null"], description: "the error channel's Status (exec/attach over v4/v5 WebSocket); null when none was seen", properties: { status: { type: "string", description: "Success, NonZeroExitCode, or the Status's other reason" }, code: { type: "integer" } } },
  },
} as const;

export const openapi = {
  openapi: "3.1.0",
  info: {
    title: "Daalu Federation gateway",
    version: "1.0.0",
    description:
      "Operator REST API (tenant-scoped; Bearer API tokens for the CLI and automation, session cookies for people signed in with a password or OIDC) and the public bootstrap endpoint used by the edge's bootstrap Job. With a session cookie every request but GET and HEAD needs the session's CSRF token in X-CSRF-Token (403 CSRF_TOKEN_INVALID); an ended session is 401 SESSION_EXPIRED.",
  },
  components: {
    securitySchemes: {
      bearer: { type: "http", scheme: "bearer", description: "API token dak1_<selector>_<verifier>" },
      session: { type: "apiKey", in: "cookie", name: "daalu_session", description: "Browser session from POST /v1/session or OIDC; HttpOnly, Secure, SameSite=Strict" },
    },
    schemas: {
      Problem: {
        type: "object",
        required: ["type", "title", "status", "detail", "code", "reason"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          code: { type: "string", description: "gRPC code name" },
          reason: { type: "string", description: "stable domain reason, e.g. TOKEN_EXPIRED" },
          instance: { type: "string" },
          traceId: { type: "string" },
        },
      },
      ...driftSchemas,
      Cluster: {
        type: "object",
        properties: {
          id: { type: "string" },
          name: { type: "string" },
          tunnelIp: { type: ["string", "null"] },
          status: { type: "string", enum: ["pending_enrollment", "awaiting_handshake", "connected", "disconnected", "error", "unspecified"] },
          lastHandshake: ts,
          edgeVersion: { type: ["string", "null"] },
          apiReachable: { type: "boolean" },
          diagnostic: { type: ["string", "null"] },
          createdAt: ts,
          enrolledAt: ts,
          statusSince: ts,
          latestEdgeVersion: { type: ["string", "null"], description: "the edge release this hub offers (its edge chart's version)" },
          minEdgeVersion: { type: ["string", "null"], description: "the oldest edge version this hub supports" },
          updateAvailable: { type: "boolean", description: "edgeVersion is set and SemVer-older than latestEdgeVersion" },
          edgeSupport: {
            type: ["string", "null"],
            enum: ["current", "update_available", "unsupported", null],
            description: "edgeVersion against the hub's releases; null before the edge reports a SemVer version. An unsupported edge's diagnostic says so, with the upgrade command",
          },
          upgradeCommand: { type: ["string", "null"], description: "`helm upgrade daalu-edge <chart> --version <latestEdgeVersion> -n daalu-edge --reuse-values`: keeps the tunnel Secret, runs no bootstrap" },
          openAlerts: { type: "integer", description: "critical alerts open now" },
          homeNode: { type: ["string", "null"], description: "the hub node that carries the tunnel now (several hub nodes); null until an edge handshook" },
        },
      },
      Alert: {
        type: "object",
        properties: {
          id: { type: "string" },
          clusterId: { type: "string" },
          clusterName: { type: "string" },
          severity: { type: "string", enum: ["critical"] },
          summary: { type: "string" },
          diagnostic: { type: ["string", "null"] },
          raisedAt: ts,
          resolvedAt: { ...ts, description: "null while the alert is open" },
        },
      },
      Invite: {
        type: "object",
        properties: {
          id: { type: "string" },
          clusterId: { type: "string" },
          clusterName: { type: "string" },
          state: { type: "string", enum: ["pending", "redeemed", "expired", "revoked", "unspecified"] },
          createdAt: ts,
          expiresAt: ts,
          redeemedAt: ts,
          revokedAt: ts,
          createdBy: { type: "string" },
        },
      },
      IssuedInvite: {
        type: "object",
        description: "The token appears here exactly once; no later response shows it.",
        properties: { invite: ref("Invite"), token: { type: "string" }, helmCommand: { type: "string" } },
      },
      Subnet: {
        type: "object",
        properties: { cidr: { type: "string" }, hubIp: { type: "string" }, capacity: { type: "integer" }, allocated: { type: "integer" } },
      },
      UsageBucket: {
        type: "object",
        properties: { start: ts, clusterId: { type: ["string", "null"] }, calls: { type: "integer" }, errors: { type: "integer" }, bytesIn: { type: "integer" }, bytesOut: { type: "integer" }, sessions: { type: "integer", description: "exec, attach and port-forward sessions started (each is also one of calls)" } },
      },
      Session: {
        type: "object",
        properties: {
          user: obj({ id: str, username: str, displayName: str, role: { type: "string", enum: ["admin", "operator", "viewer"] }, tenantId: str }),
          csrfToken: { type: "string", description: "send as X-CSRF-Token on every request but GET and HEAD" },
          expiresAt: { type: "string", format: "date-time", description: "absolute end; an hour unused ends it sooner" },
        },
      },
      Bootstrap: {
        type: "object",
        properties: {
          tenantId: { type: "string" },
          clusterId: { type: "string" },
          clusterName: { type: "string" },
          tunnelIp: { type: "string" },
          subnet: { type: "string" },
          hubTunnelIp: { type: "string" },
          hubPublicKey: { type: "string" },
          hubEndpoint: { type: "string" },
          keepaliveSeconds: { type: "integer" },
        },
      },
    },
  },
  paths: {
    "/v1/clusters": {
      get: {
        summary: "List the tenant's clusters",
        description:
          "`seq` is the live event stream's newest event id when the list was read: every event up to it is reflected in the list, so a live view opens GET /v1/events?lastEventId={seq} and misses nothing between the two (absent when the event stream is unavailable).",
        security: secured,
        responses: { "200": json({ type: "object", properties: { clusters: { type: "array", items: ref("Cluster") }, seq: { type: "integer" } } }), ...errors },
      },
      post: {
        summary: "Add a cluster (admin): returns the invite token once and the helm command",
        security: secured,
        requestBody: body(createClusterBody),
        responses: {
          "201": json({ type: "object", properties: { cluster: ref("Cluster"), invite: ref("Invite"), token: { type: "string" }, helmCommand: { type: "string" } } }, "created"),
          ...errors,
        },
      },
    },
    "/v1/clusters/{id}": {
      get: { summary: "Get a cluster", security: secured, parameters: idParams, responses: { "200": json({ type: "object", properties: { cluster: ref("Cluster") } }), ...errors } },
      delete: { summary: "Delete a cluster (admin): peer removed, address returned", security: secured, parameters: idParams, responses: { "200": json({ type: "object", properties: { cluster: ref("Cluster") } }), ...errors } },
    },
    "/v1/clusters/{id}/invites": {
      post: { summary: "Re-enroll a cluster (admin): a new invite for it", security: secured, parameters: idParams, responses: { "201": json(ref("IssuedInvite"), "created"), ...errors } },
    },
    "/v1/invites": {
      get: {
        summary: "List invites (tokens never shown)",
        security: secured,
        parameters: [{ name: "clusterId", in: "query", required: false, schema: listInvitesQuery.properties.clusterId }],
        responses: { "200": json({ type: "object", properties: { invites: { type: "array", items: ref("Invite") } } }), ...errors },
      },
    },
    "/v1/invites/{id}/revoke": {
      post: { summary: "Revoke a pending invite (admin)", security: secured, parameters: idParams, responses: { "200": json({ type: "object", properties: { invite: ref("Invite") } }), ...errors } },
    },
    "/v1/invites/{id}/regenerate": {
      post: { summary: "Issue a fresh invite for an expired or revoked one (admin)", security: secured, parameters: idParams, responses: { "201": json(ref("IssuedInvite"), "created"), ...errors } },
    },
    "/v1/subnet": {
      get: { summary: "The tenant's tunnel subnet", security: secured, responses: { "200": json({ type: "object", properties: { subnet: ref("Subnet") } }), ...errors } },
      put: { summary: "Create or widen the tenant's subnet (admin)", security: secured, requestBody: body(setSubnetBody), responses: { "200": json({ type: "object", properties: { subnet: ref("Subnet") } }), ...errors } },
    },
    "/v1/bootstrap": {
      post: {
        summary: "Public: redeem an invite token with the edge's public key; returns the tunnel configuration",
        description: "No authentication; body at most 4 KiB; rate limited per source address (429).",
        security: [],
        requestBody: body(bootstrapBody),
        responses: { "200": json(ref("Bootstrap")), ...publicErrors },
      },
    },
    "/v1/clusters/{id}/diagnostics": {
      get: {
        summary: "Download the cluster's tunnel diagnostic blob (JSON from the hub node holding the tunnel)",
        description: "Peer key fingerprint, endpoint, handshake times, rx/tx counters, state and since, last probe, last errors.",
        security: secured,
        responses: { "200": json({ type: "object" }), ...errors },
      },
    },
    "/v1/clusters/{id}/kubeconfig": {
      get: {
        summary: "A kubeconfig for this cluster's Kubernetes endpoint on the hub",
        description: "server = <public url>/k8s/clusters/{id}; the token is a placeholder unless ?token=include (then the caller's own token; Cache-Control: no-store).",
        security: secured,
        parameters: [{ name: "token", in: "query", required: false, schema: { type: "string", enum: ["include", "placeholder"] } }],
        responses: { "200": { description: "kubeconfig (YAML)", content: { "application/yaml": {} } }, ...errors },
      },
    },
    "/k8s/clusters/{id}/*": Object.fromEntries(
      ["get", "post", "put", "patch", "delete", "options"].map((m) => [
        m,
        {
          summary: "Kubernetes API of the cluster, through its tunnel (kubectl-compatible; read-only by the edge's RBAC)",
          description: "Errors are Kubernetes Status objects (what kubectl prints), with the Daalu reason in the daalu-error-reason header. Every call is one audit row.",
          security: secured,
          responses: { "200": { description: "the API server's answer, streamed (watch, logs -f)" }, "403": { description: "Status from the API server (RBAC)" }, "404": { description: "Status: no such cluster in this tenant" } },
        },
      ]),
    ),
    "/v1/audit/calls": {
      get: {
        summary: "Calls through the tunnel, one row per call, newest first (cursor pages; any role)",
        security: secured,
        parameters: queryParams(auditCallsQuery),
        responses: {
          "200": json(obj({
            calls: { type: "array", items: obj({ id: str, time: ts, clusterId: str, caller: obj({ kind: str, id: str }), operation: obj({ verb: str, resource: str, namespace: str, name: str, subresource: str, apiGroup: str, path: str }), outcome: obj({ statusCode: int, ok: { type: "boolean" }, error: { type: ["string", "null"] } }), latencyMs: int, bytesIn: int, bytesOut: int, traceId: { type: ["string", "null"] }, session: auditSession }) },
            nextPageToken: { type: ["string", "null"], description: "pass as pageToken, with the same filters, for the next page; null on the last" },
          })),
          ...errors,
        },
      },
    },
    "/v1/usage": {
      get: {
        summary: "Metering: calls, errors and bytes per hour or day (UTC buckets), optionally per cluster",
        security: secured,
        parameters: queryParams(usageQuery),
        responses: { "200": json(obj({ granularity: str, from: ts, to: ts, buckets: { type: "array", items: ref("UsageBucket") }, total: ref("UsageBucket") })), ...errors },
      },
    },
    "/v1/clusters/{id}/kubectl": {
      post: {
        summary: "Run one read-only kubectl command against the cluster, through its tunnel",
        description: "Needs an operator or admin token (403 OPERATOR_REQUIRED). The real kubectl runs (never a shell, as an unprivileged user, with its kubeconfig, cache, profiling and verbosity pinned); each of its requests is audited with the caller, and the run itself leaves one audit record (verb kubectl, path = the command line). argv[0] is the verb; argv is parsed as kubectl parses it and only the verb's allowlisted flags pass (403 KUBECTL_VERB_NOT_ALLOWED / KUBECTL_FLAG_NOT_ALLOWED, 400 INVALID_KUBECTL_ARGV, nothing runs). 429 KUBECTL_TENANT_BUSY / KUBECTL_CLUSTER_BUSY / KUBECTL_BUSY when the tenant's, the cluster's or the gateway's concurrent runs are all taken. exitCode is null when the time limit or the output cap stopped kubectl.",
        security: secured,
        parameters: idParams,
        requestBody: body(kubectlBody),
        responses: { "200": json(obj({ exitCode: { type: ["integer", "null"] }, stdout: str, stderr: str, truncated: { type: "boolean" }, timedOut: { type: "boolean" }, durationMs: int })), ...errors, "429": problem },
      },
    },
    "/v1/clusters/{id}/queries/unhealthy-pods": query("Pods whose kubectl STATUS is not Running (Completed only with includeCompleted=true)", unhealthyPodsQuery, obj({ pods: { type: "array", items: obj({ namespace: str, name: str, phase: str, status: str, ready: str, restarts: int, message: { type: ["string", "null"] }, nodeName: { type: ["string", "null"] }, createdAt: ts }) }, podsTotal: int })),
    "/v1/clusters/{id}/queries/deployment-logs": query("The last tailLines log lines of each pod of a Deployment (at most 20 pods)", deploymentLogsQuery, obj({ selector: str, truncated: { type: "boolean" }, pods: { type: "array", items: obj({ pod: str, container: str, lines: { type: "array", items: str }, error: { type: ["string", "null"] } }) } })),
    "/v1/clusters/{id}/queries/rollout-status": query("A Deployment's rollout status, as kubectl rollout status computes it", rolloutStatusQuery, obj({ desired: int, updated: int, ready: int, available: int, current: int, state: { type: "string", enum: ["done", "progressing", "failed"] }, done: { type: "boolean" }, message: str, generation: int, observedGeneration: int })),
    "/v1/clusters/{id}/queries/rollouts": query("Recent rollouts: every Deployment, StatefulSet and DaemonSet (or of one namespace), judged as kubectl rollout status does; failed, then progressing, then done, most recently changed first", rolloutsQuery, obj({ total: int, rollouts: { type: "array", items: obj({ kind: { type: "string", enum: ["Deployment", "StatefulSet", "DaemonSet"] }, namespace: str, name: str, desired: int, updated: int, ready: int, available: int, generation: int, observedGeneration: int, state: { type: "string", enum: ["done", "progressing", "failed"] }, message: str, conditionMessage: { type: ["string", "null"] }, changedAt: ts }) } })),
    "/v1/clusters/{id}/history": query("The cluster's status transitions, newest first (the last 500 are kept)", historyQuery, obj({ transitions: { type: "array", items: obj({ at: ts, from: STATUS, to: STATUS, diagnostic: { type: ["string", "null"] } }) } })),
    "/v1/clusters/{id}/alerts": query("The cluster's critical alerts, open and resolved, newest first", historyQuery, obj({ alerts: { type: "array", items: ref("Alert") } })),
    "/v1/clusters/{id}/edge": {
      get: {
        summary: "The edge agent's own health, asked through the tunnel (EdgeService.GetStatus)",
        description: "503 CLUSTER_NOT_CONNECTED (not enrolled) or TUNNEL_NOT_CONNECTED (the hub knows the tunnel is down) at once, without dialing the edge; 503 EDGE_UNAVAILABLE when the edge does not answer.",
        security: secured,
        parameters: idParams,
        responses: {
          "200": json(obj({ version: { type: ["string", "null"] }, uptimeSeconds: { type: ["integer", "null"] }, handshakeAgeSeconds: { type: ["integer", "null"], description: "the edge's own view: seconds since its last handshake with the hub" }, lastProbeAt: ts, apiServer: { type: ["string", "null"] }, apiReachable: { type: "boolean" }, apiError: { type: ["string", "null"] }, kubernetesVersion: { type: ["string", "null"] }, nodeCount: int, nodesReady: int })),
          ...errors,
          "504": problem,
        },
      },
    },
    ...driftPaths({ json, body, errors, secured, idParams, queryParams, problem }),
    ...rbacPaths({ json, body, errors, secured, idParams }),
    "/v1/events": {
      get: {
        summary: "Live events of the tenant (Server-Sent Events, one stream per browser tab)",
        description:
          "text/event-stream. First `event: hello` with `data: {\"seq\": N}` (or `event: reset`, same data, when the Last-Event-ID asked for is older than the stream holds, an hour: refetch the list), then `event: cluster` with `data: {\"kind\": \"created|enrolled|key_replaced|deleted|status_changed\", \"cluster\": Cluster, \"time\": iso}` and `event: alert` with `data: {\"alert\": Alert}`, each with `id:` = its sequence; a `: ping` comment every 15 s. Resume with the Last-Event-ID header (EventSource sends it on reconnect) or ?lastEventId= (EventSource cannot set headers): exactly the events after that id follow, no hello. 503 EVENTS_UNAVAILABLE when the stream cannot start.",
        security: secured,
        parameters: [...queryParams(eventsQuery), { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^[0-9]{1,15}$" } }],
        responses: { "200": { description: "the event stream", content: { "text/event-stream": {} } }, ...errors },
      },
    },
    "/v1/clusters/{id}/queries/nodes": query("The cluster's nodes: name, readiness, roles, kubelet version", undefined, obj({ nodes: { type: "array", items: obj({ name: str, ready: { type: "boolean" }, status: str, roles: { type: "array", items: str }, version: str, internalIp: { type: ["string", "null"] }, createdAt: ts }) } })),
    "/v1/clusters/{id}/targets/{name}/*": {
      get: {
        summary: "An in-cluster HTTP target registered on the edge (prometheus, loki, grafana, ...), through the tunnel",
        description: "e.g. /v1/clusters/{id}/targets/prometheus/api/v1/query?query=up. The target's answer comes back unchanged; targets and path prefixes are the edge's allowlist (EDGE_HTTP_TARGETS), anything else is 403. Every call is one audit row.",
        security: secured,
        parameters: [...idParams, { name: "name", in: "path", required: true, schema: targetParams.properties.name }],
        responses: { "200": { description: "the target's answer, as it sent it" }, ...errors },
      },
    },
    "/charts/index.yaml": {
      get: {
        summary: "The edge chart's Helm repository index (public)",
        description: "The hub is a Helm chart repository for the daalu-edge chart: `helm install daalu-edge daalu-edge --repo <hub>/charts --version <v>` (the command an invite prints). The version is the edge release this hub offers.",
        security: [],
        responses: { "200": { description: "index.yaml", content: { "application/x-yaml": {} } } },
      },
    },
    "/charts/{file}": {
      get: {
        summary: "The packaged edge chart, daalu-edge-<version>.tgz (public)",
        security: [],
        parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "the chart archive", content: { "application/gzip": {} } }, "404": problem },
      },
    },
    ...authPaths({ json, body, secured, queryParams, problem }),
    "/openapi.json": { get: { summary: "This document", security: [], responses: { "200": json({ type: "object" }) } } },
    "/healthz": { get: { summary: "Liveness", security: [], responses: { "200": json({ type: "object" }) } } },
    "/readyz": { get: { summary: "Readiness: NATS connected and database reachable", security: [], responses: { "200": json({ type: "object" }), "503": problem } } },
    "/": { get: { summary: "The web app: redirects to /clusters (or says how to build the app when it is not built)", security: [], responses: { "302": { description: "to /clusters" }, "503": { description: "the web app is not built", content: { "text/html": {} } } } } },
    ...Object.fromEntries(WEB_APP_ROUTES.map((r) => [r.replace(/:([A-Za-z]+)/g, "{$1}"), webPage])),
    "/assets/{file}": { get: { summary: "A file of the web app's build (content-hashed name, cached immutable)", security: [], parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }], responses: { "200": { description: "the file" }, "404": problem } } },
  },
} as const;
