/** Bearer tokens: who a request's token authenticates, and the TokenRequest API that mints ServiceAccount tokens. */
import type http from "node:http";
import { randomBytes } from "node:crypto";
import { invalid } from "./status.js";
import { serviceAccountUser, type KubeUser } from "./rbac.js";
import type { ServerState } from "./state.js";
import { readBody, type ResourceRequest } from "./request.js";
import { nowTimestamp, writeJson } from "./respond.js";

/** kube-apiserver's default and minimum TokenRequest lifetimes. */
const TOKEN_DEFAULT_SECONDS = 3600;
const TOKEN_MIN_SECONDS = 600;

export function createTokenHandlers(state: ServerState) {
  function authenticate(req: http.IncomingMessage): KubeUser | undefined {
    const h = req.headers.authorization;
    const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
    if (m) {
      const token = m[1]!.trim();
      const exp = state.tokenExpiry.get(token);
      if (exp !== undefined && exp <= Date.now()) return undefined;
      return state.tokens.get(token);
    }
    return state.anonymous ? { name: "system:anonymous", groups: ["system:unauthenticated"] } : undefined;
  }

  /**
   * TokenRequest: a new bearer token of the ServiceAccount, valid for
   * spec.expirationSeconds (default 1 h, at least 10 min, as kube-apiserver).
   * Unlike the real server, the ServiceAccount object need not exist and
   * audiences/boundObjectRef are echoed, not enforced.
   */
  async function handleTokenRequest(rr: ResourceRequest, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readBody(req)) as { spec?: { expirationSeconds?: number; audiences?: string[]; boundObjectRef?: unknown } } | null;
    const seconds = body?.spec?.expirationSeconds ?? TOKEN_DEFAULT_SECONDS;
    if (!Number.isInteger(seconds) || seconds < TOKEN_MIN_SECONDS) {
      throw invalid({ group: "authentication.k8s.io", kind: "TokenRequest", plural: "tokenrequests" }, rr.name!, "spec.expirationSeconds", `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`);
    }
    const token = `kd-sa.${randomBytes(24).toString("base64url")}`;
    const expiresAt = Date.now() + seconds * 1000;
    state.tokens.set(token, serviceAccountUser(rr.namespace!, rr.name!));
    state.tokenExpiry.set(token, expiresAt);
    writeJson(res, 201, {
      kind: "TokenRequest", apiVersion: "authentication.k8s.io/v1",
      metadata: { name: rr.name, namespace: rr.namespace, creationTimestamp: nowTimestamp() },
      spec: { audiences: body?.spec?.audiences ?? ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: seconds, boundObjectRef: body?.spec?.boundObjectRef ?? null },
      status: { token, expirationTimestamp: new Date(expiresAt).toISOString().replace(/\.\d+Z$/, "Z") },
    });
  }

  return { authenticate, handleTokenRequest };
}
