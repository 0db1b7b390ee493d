import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import { Code, DaaluError } from "./errors.js";

type InboxCallback = (err: Error | null, msg: Msg | undefined) => void;

/**
 * One wildcard inbox subscription per connection, dispatching replies by
 * subject to whoever registered that inbox: request/reply here (one reply
 * per inbox) and the tunnel's chunked streams (many). A subscription per
 * call would cost a SUB and an UNSUB on the wire and two changes to the
 * server's subject index per call. On a subscription error or a closed
 * connection every registered inbox hears the error.
 */
export class InboxMux {
  private readonly prefix = `${createInbox()}.`;
  private readonly routes = new Map<string, InboxCallback>();
  private next = 0;

  constructor(nc: NatsConnection) {
    nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err) this.failAll(err);
        else this.routes.get(msg.subject)?.(null, msg);
      },
    });
    // Nobody will answer on a closed connection: fail now rather than at each deadline.
    void nc.closed().then(() => this.failAll(new DaaluError(Code.Unavailable, "the NATS connection is closed")));
  }

  private failAll(err: Error): void {
    for (const cb of [...this.routes.values()]) cb(err, undefined);
  }

  /** A fresh inbox subject of this connection. */
  inbox(): string {
    return this.prefix + (this.next++).toString(36);
  }

  /** Routes messages on `inbox` to `cb` until `remove` is called. */
  add(inbox: string, cb: InboxCallback): { remove(): void } {
    this.routes.set(inbox, cb);
    return { remove: () => this.routes.delete(inbox) };
  }
}

const muxes = new WeakMap<NatsConnection, InboxMux>();

/** The connection's inbox mux (made on first use). */
export function inboxMux(nc: NatsConnection): InboxMux {
  let m = muxes.get(nc);
  if (!m) {
    m = new InboxMux(nc);
    muxes.set(nc, m);
  }
  return m;
}
