import { test } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { checkKubectlArgv } from "../src/domain/kubectl-argv.js";
import { VERB_FLAGS, type VerbKey } from "../src/domain/kubectl-argv-table.js";
import { pinnedFlags, runAsUser, runSandboxed } from "../src/http/kubectl-run-sandbox.js";
import { binaries, help, type HelpFlag } from "./kubectl-run-help.js";

// Fuzzing the argv check against kubectl's own flag definitions. Seeded argv
// sequences are built from the table's flags, every global flag `kubectl
// options` lists and every flag `kubectl <verb> --help` lists, written with
// `=` or a separate value, bundled, with `--`, `-`, and booleans followed by
// flag-looking values. For every argv the check accepts:
// - a model of pflag over kubectl's REAL flag set (from its help, not from our
//   table) parses argv + the runner's pinned flags, and every flag that decides
//   where kubectl connects or what it touches ends with the pinned value, and
//   the caller set only flags the table allows;
// - a sample really runs (as the runner runs it) against a loopback proxy
//   standing in for the bridge: kubectl contacts nothing else (a trap listener
//   named in the argv sees nothing), every request carries the run's secret,
//   and (as root, kubectl then runs as nobody) nothing owned by nobody appears
//   in the world-writable directories.

const SEED = 0x5eed_4b;
const CASES = 6_000;
const REAL_RUNS = 12;
const bins = binaries();

/** mulberry32: small, seeded, good enough to pick test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type FlagSet = Map<string, HelpFlag>;

/** pflag's parse (long, short, bundles, `--`), over a flag set; the last occurrence of a flag wins. */
function pflag(args: string[], flags: FlagSet): { values: Map<string, string[]>; positionals: string[] } | { error: string } {
  const short = new Map<string, string>();
  for (const [n, f] of flags) if (f.short) short.set(f.short, n);
  const values = new Map<string, string[]>();
  const positionals: string[] = [];
  const set = (n: string, v: string) => values.set(n, [...(values.get(n) ?? []), v]);
  for (let i = 0; i < args.length; i++) {
    const s = args[i]!;
    if (s.length < 2 || s[0] !== "-") {
      positionals.push(s);
      continue;
    }
    if (s === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (s.startsWith("--")) {
      const body = s.slice(2);
      if (body[0] === "-" || body[0] === "=") return { error: `bad flag syntax ${s}` };
      const eq = body.indexOf("=");
      const name = eq < 0 ? body : body.slice(0, eq);
      const f = flags.get(name);
      if (!f) return { error: `unknown flag --${name}` };
      if (eq >= 0) set(name, body.slice(eq + 1));
      else if (f.arity === "bool") set(name, "true");
      else if (i + 1 < args.length) set(name, args[++i]!);
      else return { error: `--${name} needs an argument` };
      continue;
    }
    let rest = s.slice(1);
    while (rest) {
      const name = short.get(rest[0]!);
      if (!name) return { error: `unknown shorthand ${rest[0]}` };
      if (rest.length > 2 && rest[1] === "=") {
        set(name, rest.slice(2));
        rest = "";
      } else if (flags.get(name)!.arity === "bool") {
        set(name, "true");
        rest = rest.slice(1);
      } else if (rest.length > 1) {
        set(name, rest.slice(1));
        rest = "";
      } else if (i + 1 < args.length) {
        set(name, args[++i]!);
        rest = "";
      } else return { error: `-${rest[0]} needs an argument` };
    }
  }
  return { values, positionals };
}

const DIR = "/run-dir";
const PINNED = pinnedFlags(DIR);
/** Flags whose final value must be the pinned one. */
const PINNED_VALUES = new Map(PINNED.map((f) => [f.slice(2, f.indexOf("=")), f.slice(f.indexOf("=") + 1)]));
/** Flags kubectl has that the pins cannot reset (slices append): the caller must never set them. */
const NEVER = ["as-group", "vmodule", "log-flush-frequency", "kubeconfig", "server", "cache-dir", "profile", "profile-output", "v", "token"];

test("fuzz: every accepted argv leaves kubectl's target, credentials, files and logging pinned", { skip: bins.length === 0 && "kubectl is not installed" }, async (t) => {
  const globals = await help(bins[0]!, ["options"]);
  const verbs = Object.keys(VERB_FLAGS) as VerbKey[];
  const own = new Map<VerbKey, FlagSet>();
  for (const v of verbs) own.set(v, new Map([...globals, ...(await help(bins[0]!, [...v.split(" "), "--help"])), ["help", { arity: "bool", short: "h" }]]));
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const shuffle = <T>(xs: T[]): T[] => xs.map((x) => [rnd(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);
  const shorts = (fs: FlagSet) => [...fs.values()].flatMap((x) => (x.short ? [x.short] : []));
  const trapUrl = "http://127.0.0.1:9";
  const VALUES = ["shop", "json", "true", "false", "1", "=", "", `--server=${trapUrl}`, "--kubeconfig=/etc/passwd", "-v=8", `-s${trapUrl}`, "--", "-", "--profile-output=/tmp/x", "--cache-dir=/tmp/c", "/api", "-1"];
  const WORDS = ["pods", "web", "deployment/web", "shop", "json", "true", "false", "1", "5m", "/api/v1"];
  const accepted: { verb: VerbKey; argv: string[] }[] = [];
  let refused = 0;
  for (let c = 0; c < CASES; c++) {
    const verb = pick(verbs);
    const flags = [...own.get(verb)!];
    const table = Object.keys(VERB_FLAGS[verb]).concat("namespace", "request-timeout", "help");
    const tableFlags: FlagSet = new Map([...own.get(verb)!].filter(([n]) => table.includes(n)));
    const argv = verb.split(" ");
    // Half the argv use only the table's flags (most pass, so the model has work), half anything kubectl knows.
    const plausible = rnd() < 0.5;
    for (let n = Math.floor(rnd() * 6); n > 0; n--) {
      const name = plausible || rnd() < 0.5 ? pick(table) : pick(flags)[0];
      const shortOf = own.get(verb)!.get(name)?.short;
      const value = () => (plausible && rnd() < 0.6 ? pick(WORDS) : pick(VALUES));
      const form = rnd();
      if (form < 0.2) argv.push(`--${name}`);
      else if (form < 0.4) argv.push(`--${name}`, value()); // a separate value, or a boolean followed by anything
      else if (form < 0.55) argv.push(`--${name}=${value()}`);
      else if (form < 0.65 && shortOf) argv.push(`-${shortOf}`, value());
      else if (form < 0.75 && shortOf) argv.push(`-${shortOf}${pick(["", "=", ""])}${value()}`);
      else if (form < 0.85) argv.push(`-${shuffle(shorts(plausible ? tableFlags : own.get(verb)!)).slice(0, 1 + Math.floor(rnd() * 3)).join("")}`);
      else argv.push(value());
    }
    const v = checkKubectlArgv(argv);
    if (!v.ok) {
      refused++;
      continue;
    }
    accepted.push({ verb, argv });
    const parsed = pflag([...argv, ...PINNED], own.get(verb)!);
    if ("error" in parsed) {
      // kubectl refuses the argv itself: only an argv-level error may do that, never one within the pins.
      assert.ok(!PINNED.some((p) => parsed.error.includes(p.slice(2, p.indexOf("=")))), `${JSON.stringify(argv)}: ${parsed.error}`);
      continue;
    }
    assert.equal(parsed.positionals.filter((p) => p.startsWith("--")).length, 0, `${JSON.stringify(argv)}: a flag became a positional`);
    for (const [name, pinned] of PINNED_VALUES) assert.equal(parsed.values.get(name)?.at(-1), pinned, `${JSON.stringify(argv)}: --${name}`);
    const user = pflag(argv, own.get(verb)!);
    assert.ok(!("error" in user), `${JSON.stringify(argv)} parses on its own`);
    if (!("error" in user)) {
      for (const name of user.values.keys()) {
        assert.ok(table.includes(name), `${JSON.stringify(argv)}: sets --${name}, which the table does not allow for ${verb}`);
        assert.ok(!NEVER.includes(name), `${JSON.stringify(argv)}: sets --${name}`);
      }
      // The check saw exactly the flags and values kubectl will see.
      const mine = new Map<string, string[]>();
      for (const f of v.flags) mine.set(f.name, [...(mine.get(f.name) ?? []), f.value]);
      assert.deepEqual(mine, user.values, `${JSON.stringify(argv)}: the check parsed as pflag parses`);
      assert.deepEqual(v.positionals, user.positionals.slice(verb.split(" ").length), `${JSON.stringify(argv)}: positionals`);
    }
  }
  t.diagnostic(`${accepted.length} accepted, ${refused} refused`);
  assert.ok(accepted.length > CASES / 10, `enough accepted argv to mean something (${accepted.length})`);

  // A sample really runs, as the runner runs it.
  const trap = await listen((req, res) => {
    trapHits.push(`${req.method} ${req.url}`);
    res.end();
  });
  const trapHits: string[] = [];
  const seen: { auth: string | undefined; url: string | undefined }[] = [];
  const minors = [27, 28, 29, 30, 31, 32, 33];
  let minor = 32;
  const proxy = await listen((req, res) => {
    seen.push({ auth: req.headers["proxy-authorization"], url: req.url });
    if (req.url?.startsWith("http://kubectl-run.invalid/version")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ major: "1", minor: String(minor), gitVersion: `v1.${minor}.0` }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", reason: "NotFound", code: 404 }));
  });
  const runAs = runAsUser();
  const worldWritable = ["/tmp", "/var/tmp", "/dev/shm"];
  const before = runAs === undefined ? [] : ownedBy(worldWritable, runAs);
  const trapPort = (trap.address() as AddressInfo).port;
  const secret = "fuzz-secret";
  try {
    for (let k = 0; k < REAL_RUNS; k++) {
      const { argv } = accepted[Math.floor(rnd() * accepted.length)]!;
      // Point every flag-looking value at the live trap.
      const real = argv.map((a) => a.replaceAll(trapUrl, `http://127.0.0.1:${trapPort}`));
      minor = pick(minors);
      const r = await runSandboxed(real, `http://run:${secret}@127.0.0.1:${(proxy.address() as AddressInfo).port}`, { bin: "kubectl", searchPath: "/usr/local/bin:/usr/bin:/bin", timeoutMs: 20_000, maxOutputBytes: 64 * 1024, runAs });
      assert.equal(r.timedOut, false, `${JSON.stringify(real)}: ${r.stderr}`);
    }
    assert.ok(seen.length >= REAL_RUNS, "the sample really ran against the stand-in bridge");
    assert.deepEqual(trapHits, [], "kubectl contacted nothing but the bridge");
    for (const s of seen) {
      assert.equal(s.auth, `Basic ${Buffer.from(`run:${secret}`).toString("base64")}`);
      assert.match(s.url ?? "", /^http:\/\/kubectl-run\.invalid\//);
    }
    if (runAs !== undefined) assert.deepEqual(ownedBy(worldWritable, runAs).filter((p) => !before.includes(p)), [], "nothing written outside the run's directory");
  } finally {
    await Promise.all([trap, proxy].map((s) => new Promise((r) => s.close(r))));
  }
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  const s = createServer(handler);
  return new Promise((r) => s.listen(0, "127.0.0.1", () => r(s)));
}

/** Entries of `dirs` (top level) owned by `uid`. */
function ownedBy(dirs: string[], uid: number): string[] {
  const out: string[] = [];
  for (const d of dirs) {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      try {
        if (lstatSync(`${d}/${n}`).uid === uid) out.push(`${d}/${n}`);
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}
