/**
 * `npm run bench -- <name> [args]`: runs bench/<name>.ts. Each benchmark prints
 * its figures and ends with one `RESULT {json}` line.
 */
import { existsSync } from "node:fs";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z0-9-]+$/.test(name) || !existsSync(path.join(here, `${name}.ts`))) {
  process.stderr.write(`usage: npm run bench -- <name>   (bench/<name>.ts; got ${JSON.stringify(name ?? "")})\n`);
  process.exit(2);
}
const child = spawn(process.execPath, ["--import", "tsx", path.join(here, `${name}.ts`), ...args], { stdio: "inherit" });
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
