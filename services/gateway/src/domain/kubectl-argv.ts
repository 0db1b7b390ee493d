/**
 * Which kubectl command lines the gateway runs for an operator (POST
 * /v1/clusters/{id}/kubectl). Pure: argv in, a verdict out.
 *
 * An allowlist, not a denylist: the verb must be a read-only one the edge's
 * RBAC serves, and every flag must be one listed for that verb in
 * kubectl-argv-table.ts. argv is parsed exactly the way kubectl's flag parser
 * (spf13/pflag) does, so what is checked here is what kubectl will see:
 * - `--flag=value`; `--flag value` only for flags that take a value (the next
 *   argument is the value, whatever it looks like); a boolean never takes the
 *   next argument and accepts only `--flag` or `--flag=true|false`;
 * - short forms `-n shop`, `-nshop`, `-n=shop`, bundles of booleans `-Ap`, a
 *   value flag ending a bundle (`-An shop`);
 * - `--` (end of flags) and `-` (stdin) are refused, so the flags the gateway
 *   pins after argv are always parsed as flags; so is a value flag left without
 *   its value at the end (it would swallow the first pinned flag);
 * - a separate value starting with "-" is refused (write `--tail=-1`): every
 *   pflag-based parser (the kubectl dispatcher parses argv first, with unknown
 *   flags tolerated) then splits argv the same way.
 * Unknown flags are refused, so a new kubectl flag is off until someone adds
 * it to the table. Pinned by kubectl-argv.test.ts and the gateway's
 * test/kubectl-run-table.test.ts (the table against kubectl's own help).
 */
import { flagsOf, VERB_FLAGS, type FlagSpec, type VerbKey } from "./kubectl-argv-table.js";

export const MAX_ARGS = 64;
export const MAX_ARG_LENGTH = 1_024;
export const MAX_ARGV_BYTES = 8_192;

/** Read-only verbs; `rollout` and `auth` only with their SUBCOMMANDS. */
export const KUBECTL_VERBS = ["get", "describe", "logs", "events", "api-resources", "api-versions", "explain", "version", "rollout", "auth"] as const;
/** The read-only subcommands of the verbs that have them (`auth can-i`/`whoami` only ask; `auth reconcile` writes). */
export const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = { rollout: ["status", "history"], auth: ["can-i", "whoami"] };

/** One flag as kubectl will parse it (booleans without a value get "true"). */
export interface ParsedFlag {
  name: string;
  value: string;
}

export type ArgvVerdict =
  | { ok: true; verb: VerbKey; flags: ParsedFlag[]; positionals: string[] }
  | { ok: false; status: 400 | 403; reason: string; message: string };

const bad = (message: string): ArgvVerdict => ({ ok: false, status: 400, reason: "INVALID_KUBECTL_ARGV", message });
const refused = (message: string): ArgvVerdict => ({ ok: false, status: 403, reason: "KUBECTL_FLAG_NOT_ALLOWED", message });
const cut = (s: string) => s.slice(0, 40);

function checkValue(name: string, spec: FlagSpec, value: string): ArgvVerdict | undefined {
  if (spec.arity === "bool" && value !== "true" && value !== "false") return bad(`flag --${name} is a boolean: write --${name} or --${name}=true|false`);
  const m = spec.check?.(value);
  return m === undefined ? undefined : refused(m);
}

function verbOf(args: string[]): { verb: VerbKey; next: number } | ArgvVerdict {
  const verb = args[0]!;
  if (!(KUBECTL_VERBS as readonly string[]).includes(verb)) {
    return { ok: false, status: 403, reason: "KUBECTL_VERB_NOT_ALLOWED", message: `"${cut(verb)}" is not allowed: argv[0] must be one of ${KUBECTL_VERBS.join(", ")} (the tunnel is read-only)` };
  }
  const subs = SUBCOMMANDS[verb];
  if (!subs) return { verb: verb as VerbKey, next: 1 };
  const sub = args[1] ?? "";
  if (!subs.includes(sub)) {
    return { ok: false, status: 403, reason: "KUBECTL_VERB_NOT_ALLOWED", message: `only "${verb} ${subs.join(`" and "${verb} `)}" are allowed` };
  }
  return { verb: `${verb} ${sub}` as VerbKey, next: 2 };
}

/** Validates a kubectl argv (without the leading "kubectl") and returns it parsed as kubectl will parse it. */
export function checkKubectlArgv(argv: unknown): ArgvVerdict {
  if (!Array.isArray(argv) || argv.length === 0) return bad("argv must be a non-empty array of strings, e.g. [\"get\", \"pods\"]");
  if (argv.length > MAX_ARGS) return bad(`argv has ${argv.length} arguments; at most ${MAX_ARGS}`);
  let bytes = 0;
  for (const a of argv) {
    if (typeof a !== "string") return bad("every argv element must be a string");
    if (a.length > MAX_ARG_LENGTH) return bad(`an argument is longer than ${MAX_ARG_LENGTH} characters`);
    // No shell ever sees argv; control characters are refused because nothing legitimate needs them.
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(a)) return bad("arguments must not contain control characters");
    bytes += Buffer.byteLength(a);
  }
  if (bytes > MAX_ARGV_BYTES) return bad(`argv is larger than ${MAX_ARGV_BYTES} bytes`);
  const args = argv as string[];
  const v = verbOf(args);
  if ("ok" in v) return v;
  const allowed = flagsOf(v.verb);
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(allowed)) if (spec.short) byShort.set(spec.short, name);
  const flags: ParsedFlag[] = [];
  const positionals: string[] = [];
  let i = v.next;
  /** The separate value of a value flag: the next argument (pflag takes it whatever it is). */
  const separate = (shown: string): string | ArgvVerdict => {
    const next = args[i + 1];
    if (next === undefined) return bad(`flag ${shown} needs a value`);
    if (next.startsWith("-")) return bad(`the value of ${shown} starts with "-": write it attached (${shown.startsWith("--") ? `${shown}=` : shown}${cut(next)})`);
    i++;
    return next;
  };
  const add = (name: string, spec: FlagSpec, value: string): ArgvVerdict | undefined => {
    const problem = checkValue(name, spec, value);
    if (problem) return problem;
    flags.push({ name, value });
    return undefined;
  };
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return refused(`"--" is not allowed`);
    if (a === "-") return refused(`"-" (standard input) is not allowed`);
    if (!a.startsWith("-")) {
      positionals.push(a); // resource types and names
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const spec = Object.hasOwn(allowed, name) ? allowed[name]! : undefined;
      if (!spec) return refused(`flag --${cut(name)} is not allowed${Object.values(VERB_FLAGS).some((f) => Object.hasOwn(f, name)) ? ` for "${v.verb}"` : ""}`);
      let value: string | ArgvVerdict;
      if (eq >= 0) value = a.slice(eq + 1);
      else if (spec.arity === "bool") value = "true";
      else value = separate(`--${name}`);
      if (typeof value !== "string") return value;
      const p = add(name, spec, value);
      if (p) return p;
      continue;
    }
    // Short flags, as pflag's parseSingleShortArg walks them.
    let rest = a.slice(1);
    while (rest.length > 0) {
      const ch = rest[0]!;
      const name = byShort.get(ch);
      if (!name) return refused(`flag -${ch} is not allowed${ch === "f" ? " (no files, no follow)" : ch === "w" ? " (no watching in one-shot runs)" : ""}`);
      const spec = allowed[name]!;
      let value: string | ArgvVerdict;
      if (rest.length > 2 && rest[1] === "=") {
        value = rest.slice(2);
        rest = "";
      } else if (spec.arity === "bool") {
        value = "true";
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        value = rest.slice(1);
        rest = "";
      } else {
        value = separate(`-${ch}`);
        rest = "";
      }
      if (typeof value !== "string") return value;
      const p = add(name, spec, value);
      if (p) return p;
    }
  }
  return { ok: true, verb: v.verb, flags, positionals };
}
