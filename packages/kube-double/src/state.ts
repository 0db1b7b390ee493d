/** What the handlers share: the stores, who may do what, and the request log tests assert on. */
import type { ObjectStore } from "./store.js";
import type { LogStore } from "./logs.js";
import type { KubeUser, RbacPolicy } from "./rbac.js";

/** One request as the double saw it: lets tests assert that calls really went through. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Authenticated user name, if any. */
  user?: string;
  verb?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** HTTP status written (set once the response finishes). */
  status?: number;
}

export interface ServerState {
  store: ObjectStore;
  logs: LogStore;
  tokens: Map<string, KubeUser>;
  policy: RbacPolicy;
  /** Accept unauthenticated requests as system:anonymous (then RBAC decides) instead of answering 401. */
  anonymous: boolean;
  /** Expiry (ms since epoch) of tokens minted by TokenRequest; an expired one authenticates no one. */
  tokenExpiry: Map<string, number>;
  requests: RequestRecord[];
}
