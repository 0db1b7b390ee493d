// dependency-cruiser: the architecture's import boundaries (CONTRIBUTING.md "Where things go" and
// "Rules of the house"), checked on every `npm run lint`.
const WORKSPACE = "(services/[^/]+|packages/[^/]+|edge)";
const IO_PACKAGES =
  "node_modules/(pg|pg-[^/]+|kysely|@nats-io/[^/]+|@grpc/[^/]+|pino|pino-[^/]+|@opentelemetry/[^/]+|@kubernetes/client-node|fastify|undici)/";
// Unit specs beside domain code may read their fixtures from testdata/.
const DOMAIN_TESTS = "\\.test\\.ts$";
const IO_CORE = "^(node:)?(net|http|https|http2|child_process|fs|fs/promises|dgram|dns|tls|cluster|worker_threads)$";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "domain-no-io",
      comment: "domain/ is pure: no database, NATS, gRPC, network, file system, child processes, logging or tracing.",
      severity: "error",
      from: { path: "^(services/[^/]+/src/domain|edge/src/domain)/", pathNot: DOMAIN_TESTS },
      to: { path: IO_PACKAGES },
    },
    {
      name: "domain-no-io-core",
      comment: "domain/ is pure: no node:net/http(s)/fs/child_process (and the like).",
      severity: "error",
      from: { path: "^(services/[^/]+/src/domain|edge/src/domain)/", pathNot: DOMAIN_TESTS },
      to: { dependencyTypes: ["core"], path: IO_CORE },
    },
    {
      name: "domain-no-adapters",
      comment: "domain/ must not reach I/O through its own service's adapters/ either.",
      severity: "error",
      from: { path: "^(services/[^/]+/src/domain|edge/src/domain)/", pathNot: DOMAIN_TESTS },
      to: { path: "^(services/[^/]+/src|edge/src)/adapters/" },
    },
    {
      name: "service-via-package-entry",
      comment: "A service uses another service only through its package entry (@daalu/<name>), never its src/ by path.",
      severity: "error",
      from: { path: "^services/([^/]+)/src/" },
      to: { path: "^services/[^/]+/src/", pathNot: "^services/$1/", dependencyTypes: ["local"], dependencyTypesNot: ["aliased"] },
    },
    {
      name: "test-not-into-other-src",
      comment: "A test, e2e test or bench uses another workspace through its package entry, not its src/ by relative path.",
      severity: "error",
      from: { path: `^(${WORKSPACE}/test|e2e|bench)/` },
      to: { path: `^${WORKSPACE}/src/`, pathNot: "^$2/src/", dependencyTypes: ["local"], dependencyTypesNot: ["aliased"] },
    },
    {
      name: "workspace-not-into-other-src",
      comment: "Packages and the edge use other workspaces through their package entry, not src/ by relative path.",
      severity: "error",
      from: { path: "^(packages/[^/]+|edge)/src/" },
      to: { path: `^${WORKSPACE}/src/`, pathNot: "^$1/src/", dependencyTypes: ["local"], dependencyTypesNot: ["aliased"] },
    },
    {
      name: "no-circular",
      comment: "Import cycles (type-only imports aside) make load order matter and modules impossible to test alone.",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
  ],
  options: {
    exclude: { path: ["^packages/(proto/src/gen|testing/src/otlp/gen)/", "^(packages|services)/[^/]+/dist/", "^edge/dist/"] },
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".js", ".json"],
      mainFields: ["module", "main", "types"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
