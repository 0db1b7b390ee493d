/** Host-name hub endpoints → one endpoint per address (a name with several A records is several hub nodes). */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { splitEndpoint } from "../domain/tunnel-config.js";

/** Expands every host name in `list` to its addresses, in order; a name that does not resolve stays as it is. */
export async function expandEndpoints(list: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of list) {
    const { host, port } = splitEndpoint(e);
    if (isIP(host)) {
      out.push(e);
      continue;
    }
    try {
      const addrs = await lookup(host, { all: true });
      out.push(...addrs.map((a) => (a.family === 6 ? `[${a.address}]:${port}` : `${a.address}:${port}`)));
    } catch {
      out.push(e);
    }
  }
  return [...new Set(out)];
}
