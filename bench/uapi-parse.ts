/**
 * `npm run bench -- uapi-parse [-- --dump FILE] [--peers N] [--runs K]`: the `get=1` parser (GetParser) alone, on a
 * real answer saved by `bench peers --save-dump FILE` or a synthetic one of N peers (default 10,000) in
 * wireguard-go's format. Fed in 64 KiB chunks as the socket delivers them. Prints the first (cold: this process has
 * not run the parser before) and the warm runs, and checks the result against the line-split reference
 * (bench/lib/uapi-dump.ts) field by field. Ends with one `RESULT {...}` line.
 */
import { readFileSync } from "node:fs";
import { isDeepStrictEqual, parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { GetParser } from "@daalu/wireguard";
import { referenceParse, synthDump } from "./lib/uapi-dump.js";

const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: { dump: { type: "string" }, peers: { type: "string" }, runs: { type: "string" } },
});
const RUNS = Number(flags.runs ?? 30);
const dump = flags.dump ? readFileSync(flags.dump) : synthDump(Number(flags.peers ?? 10_000));
const CHUNK = 65_536;
const chunks: Buffer[] = [];
for (let i = 0; i < dump.length; i += CHUNK) chunks.push(dump.subarray(i, i + CHUNK));

function parse(): GetParser {
  const p = new GetParser();
  for (const c of chunks) if (p.push(c)) return p;
  throw new Error("the answer did not complete");
}

const times: number[] = [];
let last: GetParser | undefined;
for (let r = 0; r < RUNS; r++) {
  const t = performance.now();
  last = parse();
  times.push(performance.now() - t);
}
const ref = referenceParse(dump.toString("latin1"));
const same = last!.errno === ref.errno && last!.listenPort === ref.listenPort && isDeepStrictEqual(last!.peers, ref.peers);
if (!same) {
  const i = ref.peers.findIndex((p, k) => !isDeepStrictEqual(p, last!.peers[k]));
  console.error(`MISMATCH at peer ${i}: ${JSON.stringify(last!.peers[i])} vs reference ${JSON.stringify(ref.peers[i])}`);
}
const warm = times.slice(1).sort((a, b) => a - b);
const r2 = (x: number) => Math.round(x * 100) / 100;
console.log(`${ref.peers.length} peers, ${dump.length} bytes${flags.dump ? ` (${flags.dump})` : " (synthetic)"}: cold ${r2(times[0]!)} ms, warm median ${r2(warm[warm.length >> 1]!)} ms, min ${r2(warm[0]!)} ms`);
console.log(`RESULT ${JSON.stringify({ bench: "uapi-parse", peers: ref.peers.length, bytes: dump.length, cold_ms: r2(times[0]!), warm_ms_p50: r2(warm[warm.length >> 1]!), warm_ms_min: r2(warm[0]!), matches_reference: same })}`);
process.exit(same ? 0 : 1);
