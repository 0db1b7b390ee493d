/**
 * Calls EdgeService.GetStatus once and prints the result as one JSON line:
 * {"ok":true,"status":{…}} or {"ok":false,"code":"PermissionDenied","message":…}.
 * Run inside a namespace (`ip netns exec … node --import tsx e2e/status-client.ts ip:port`)
 * so the call leaves from that namespace's address.
 */
import { edgev1 } from "@daalu/proto";
import { Code, DaaluError, grpcClient } from "@daalu/runtime";

const target = process.argv[2];
if (!target) {
  process.stderr.write("usage: status-client.ts <ip:port>\n");
  process.exit(2);
}
const client = grpcClient(target, edgev1.EdgeService, { defaults: { timeoutMs: 5_000 } });
try {
  const s = await client.getStatus({});
  // Timestamps carry bigint seconds, which JSON cannot hold: print them as strings.
  const json = JSON.stringify({ ok: true, status: { ...s, $typeName: undefined } }, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  process.stdout.write(`${json}\n`);
} catch (err) {
  const e = err instanceof DaaluError ? err : DaaluError.from(err);
  process.stdout.write(`${JSON.stringify({ ok: false, code: Code[e.code], message: e.message })}\n`);
} finally {
  client.close();
}
// A connection attempt into a dead tunnel would keep the process alive for the kernel's SYN retries.
process.exit(0);
