/**
 * Runs inside a network namespace with an IPC channel to the bench (see
 * places.ts `NsDialer`): for each `{id, host, port}` it opens a TCP
 * connection there and hands the connected socket to the bench over the
 * channel. The bench then owns a kernel socket of that namespace: no relay
 * process copies the benchmark's bytes.
 */
import { connect } from "node:net";

process.on("message", (m: { id: number; host: string; port: number }) => {
  const sock = connect(m.port, m.host);
  sock.once("connect", () => {
    // Nothing may be read here: the peer speaks after the client (HTTP, TLS).
    sock.pause();
    process.send!({ id: m.id }, sock);
  });
  sock.once("error", (err) => process.send!({ id: m.id, error: err.message }));
});
process.on("disconnect", () => process.exit(0));
