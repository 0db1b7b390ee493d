/**
 * Runs inside a network namespace (see netns.ts `forward()`): listens on
 * host:port there and pipes each connection to a unix socket that the test
 * process serves from the other namespace.
 *   node --import tsx packages/netns/src/relay.ts <host> <port> <unix-socket>
 */
import { connect, createServer } from "node:net";

const [host, port, sock] = process.argv.slice(2);
if (!host || !port || !sock) {
  process.stderr.write("usage: relay.ts <host> <port> <unix-socket>\n");
  process.exit(2);
}
const server = createServer((c) => {
  const up = connect(sock);
  c.pipe(up).pipe(c);
  c.on("error", () => up.destroy());
  up.on("error", () => c.destroy());
});
server.listen(Number(port), host, () => process.stdout.write(`relay listening on ${host}:${port}\n`));
