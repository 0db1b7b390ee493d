/**
 * Which kubectl command lines the gateway runs for an operator (POST
 * /v1/clusters/{id}/kubectl). Pure: argv in, a verdict out.
 *
 * An allowlist, not a denylist: the verb must be a read-only one the edge's
 * RBAC serves, and every flag must be one known to be harmless. That keeps out
 * whatever changes the target or the credentials (--kubeconfig, --server,
 * --token, --context, --as, ...), reads or writes local files (-f, -k,
 * -o go-template-file=, --profile-output, --log-file, ...), streams forever
 * (-w, logs -f) or prints request details (-v). Unknown flags are refused, so
 * a new kubectl flag is off until someone adds it here. Pinned by
 * kubectl-argv.test.ts.
 */

export const MAX_ARGS = 64;
export const MAX_ARG_LENGTH = 1_024;
export const MAX_ARGV_BYTES = 8_192;

/** Read-only verbs; `rollout` only with these subcommands. */
export const KUBECTL_VERBS = ["get", "describe", "logs", "events", "api-resources", "api-versions", "explain", "version", "rollout"] as const;
export const ROLLOUT_SUBCOMMANDS = ["status", "history"] as const;

/** Allowed long flags: true when the flag takes a value. */
const FLAGS: Record<string, boolean> = {
  namespace: true,
  "all-namespaces": false,
  output: true,
  selector: true,
  "field-selector": true,
  "show-labels": false,
  "label-columns": true,
  "sort-by": true,
  "no-headers": false,
  "show-kind": false,
  "chunk-size": true,
  "ignore-not-found": false,
  "show-managed-fields": false,
  template: true,
  "allow-missing-template-keys": false,
  raw: true,
  subresource: true,
  "request-timeout": true,
  "show-events": false,
  container: true,
  "all-containers": false,
  previous: false,
  timestamps: false,
  tail: true,
  since: true,
  "since-time": true,
  "limit-bytes": true,
  prefix: false,
  "max-log-requests": true,
  "ignore-errors": false,
  "pod-running-timeout": true,
  timeout: true,
  revision: true,
  for: true,
  types: true,
  "api-group": true,
  namespaced: true,
  verbs: true,
  cached: false,
  recursive: false,
  "api-version": true,
  client: false,
  help: false,
  // Only as --watch=false (rollout status once, without waiting): see below.
  watch: false,
};

/** Allowed short flags and the long flag each stands for. */
const SHORT: Record<string, string> = { n: "namespace", A: "all-namespaces", o: "output", l: "selector", L: "label-columns", c: "container", p: "previous", h: "help" };

/** Output formats that only format; the *-file variants read local files. */
const OUTPUT = /^(json|yaml|wide|name)$|^(jsonpath|jsonpath-as-json|go-template|template|custom-columns)(=[\s\S]*)?$/;

export type ArgvVerdict = { ok: true; verb: string } | { ok: false; status: 400 | 403; reason: string; message: string };

const bad = (message: string): ArgvVerdict => ({ ok: false, status: 400, reason: "INVALID_KUBECTL_ARGV", message });
const refused = (reason: string, message: string): ArgvVerdict => ({ ok: false, status: 403, reason, message });

function checkValue(flag: string, value: string): ArgvVerdict | undefined {
  if (flag === "output" && !OUTPUT.test(value)) return refused("KUBECTL_FLAG_NOT_ALLOWED", `output format "${value.slice(0, 40)}" is not allowed (json, yaml, wide, name, jsonpath=, go-template=, custom-columns=; no *-file formats)`);
  if (flag === "raw" && (!value.startsWith("/") || value.startsWith("//"))) return refused("KUBECTL_FLAG_NOT_ALLOWED", "--raw takes an absolute API path such as /api/v1/namespaces");
  if (flag === "watch" && value !== "false") return refused("KUBECTL_FLAG_NOT_ALLOWED", "watching is not available in one-shot runs (--watch=false is)");
  return undefined;
}

/** Validates a kubectl argv (without the leading "kubectl"). */
export function checkKubectlArgv(argv: unknown): ArgvVerdict {
  if (!Array.isArray(argv) || argv.length === 0) return bad("argv must be a non-empty array of strings, e.g. [\"get\", \"pods\"]");
  if (argv.length > MAX_ARGS) return bad(`argv has ${argv.length} arguments; at most ${MAX_ARGS}`);
  let bytes = 0;
  for (const a of argv) {
    if (typeof a !== "string") return bad("every argv element must be a string");
    if (a.length > MAX_ARG_LENGTH) return bad(`an argument is longer than ${MAX_ARG_LENGTH} characters`);
    // No shell ever sees argv; control characters are refused because nothing legitimate needs them.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(a)) return bad("arguments must not contain control characters");
    bytes += Buffer.byteLength(a);
  }
  if (bytes > MAX_ARGV_BYTES) return bad(`argv is larger than ${MAX_ARGV_BYTES} bytes`);
  const args = argv as string[];
  const verb = args[0]!;
  if (!(KUBECTL_VERBS as readonly string[]).includes(verb)) {
    return refused("KUBECTL_VERB_NOT_ALLOWED", `"${verb.slice(0, 40)}" is not allowed: argv[0] must be one of ${KUBECTL_VERBS.join(", ")} (the tunnel is read-only)`);
  }
  let i = 1;
  if (verb === "rollout") {
    const sub = args[1] ?? "";
    if (!(ROLLOUT_SUBCOMMANDS as readonly string[]).includes(sub)) return refused("KUBECTL_VERB_NOT_ALLOWED", `only "rollout ${ROLLOUT_SUBCOMMANDS.join('" and "rollout ')}" are allowed`);
    i = 2;
  }
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return refused("KUBECTL_FLAG_NOT_ALLOWED", `"--" is not allowed`);
    if (!a.startsWith("-") || a === "-") {
      if (a === "-") return refused("KUBECTL_FLAG_NOT_ALLOWED", `"-" (standard input) is not allowed`);
      continue; // a positional: resource types and names
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (!Object.hasOwn(FLAGS, name)) return refused("KUBECTL_FLAG_NOT_ALLOWED", `flag --${name.slice(0, 40)} is not allowed`);
      if (name === "watch" && eq < 0) return refused("KUBECTL_FLAG_NOT_ALLOWED", "watching is not available in one-shot runs (--watch=false is)");
      let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
      if (FLAGS[name] && value === undefined) {
        value = args[++i];
        if (value === undefined) return bad(`flag --${name} needs a value`);
      }
      if (value !== undefined) {
        const v = checkValue(name, value);
        if (v) return v;
      }
      continue;
    }
    // Short flags: "-A", "-n shop", "-nshop", "-n=shop", or booleans bundled ("-Ap").
    for (let j = 1; j < a.length; j++) {
      const ch = a[j]!;
      const long = Object.hasOwn(SHORT, ch) ? SHORT[ch]! : undefined;
      if (!long) return refused("KUBECTL_FLAG_NOT_ALLOWED", `flag -${ch} is not allowed${ch === "f" ? " (no files, no follow)" : ch === "w" ? " (no watching in one-shot runs)" : ""}`);
      if (!FLAGS[long]) continue;
      let value = a.slice(j + 1);
      if (value.startsWith("=")) value = value.slice(1);
      if (value === "") {
        const next = args[++i];
        if (next === undefined) return bad(`flag -${ch} needs a value`);
        value = next;
      }
      const v = checkValue(long, value);
      if (v) return v;
      break;
    }
  }
  return { ok: true, verb };
}
