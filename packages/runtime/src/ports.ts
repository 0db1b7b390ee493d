import net from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (listen on 0, read the
 * port, close). The one helper the stack, the devhub and the test NATS server use.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}
