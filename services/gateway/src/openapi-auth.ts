/** The sign-in routes' part of the OpenAPI document (openapi.ts spreads it in; http/session-routes.ts, oidc-routes.ts and cli-auth-routes.ts serve them). */
import { cliAuthorizeQuery, cliTokenBody, loginBody, returnToQuery } from "./http/schemas.js";

type Helpers = {
  json: (schema: object, description?: string) => object;
  body: (schema: object) => object;
  secured: object;
  queryParams: (schema: { properties: object; required?: readonly string[] }) => object[];
  problem: object;
};

const sessionOnly = [{ session: [] }];
const str = { type: "string" } as const;
const obj = (properties: object) => ({ type: "object", properties });
const ref = (n: string) => ({ $ref: `#/components/schemas/${n}` });

export function authPaths(h: Helpers) {
  return {
  "/v1/session": {
    post: {
      summary: "Sign in with a password: the session (Set-Cookie daalu_session; HttpOnly; Secure; SameSite=Strict; Path=/) and its CSRF token",
      description: "401 INVALID_CREDENTIALS for any wrong tenant, username or password (one answer); 429 TOO_MANY_ATTEMPTS after repeated failures for the username or from the address.",
      security: [],
      requestBody: h.body(loginBody),
      responses: { "200": h.json(ref("Session")), "400": h.problem, "401": h.problem, "415": h.problem, "429": h.problem, "500": h.problem, "503": h.problem },
    },
    get: { summary: "The cookie's session and its CSRF token", security: sessionOnly, responses: { "200": h.json(ref("Session")), "401": h.problem } },
    delete: { summary: "Sign out: the session is revoked and the cookie cleared (needs X-CSRF-Token)", security: sessionOnly, responses: { "204": { description: "signed out" }, "401": h.problem, "403": h.problem } },
  },
  "/v1/whoami": {
    get: {
      summary: "Who the caller is: tenant, role and caller (an API token's name, or a session's username), for any credential",
      security: h.secured,
      responses: {
        "200": h.json(obj({ tenantId: { type: "string" }, role: { type: "string", enum: ["admin", "operator", "viewer"] }, caller: obj({ kind: { type: "string", enum: ["user", "assistant", "agent"] }, id: { type: "string" } }), via: { type: "string", enum: ["token", "session"] } })),
        "401": h.problem,
      },
    },
  },
  "/v1/auth/config": {
    get: {
      summary: "What the hub offers (public): single sign-on, and its public URL (GATEWAY_PUBLIC_URL), which kubeconfigs name",
      description: "kubectl sends a token only to an https server: the web app offers the kubeconfig download only when publicUrl is https.",
      security: [],
      responses: { "200": h.json(obj({ oidc: obj({ enabled: { type: "boolean" }, label: { type: ["string", "null"] } }), publicUrl: { type: "string", format: "uri" } })) },
    },
  },
  "/v1/auth/oidc/login": {
    get: {
      summary: "Start OIDC single sign-on: 302 to the identity provider (authorization code + PKCE S256, state, nonce)",
      description: "returnTo: where to go after signing in; only a same-origin relative path, else /. 404 OIDC_NOT_CONFIGURED when single sign-on is off.",
      security: [],
      parameters: h.queryParams(returnToQuery),
      responses: { "302": { description: "to the identity provider" }, "404": h.problem, "503": h.problem },
    },
  },
  "/v1/auth/oidc/callback": {
    get: {
      summary: "The identity provider's redirect: the code is exchanged and checked, the user upserted with the role its groups map to, the session opened; 302 to returnTo",
      description: "403 NO_ROLE_FOR_GROUPS when no group maps to a role (GATEWAY_OIDC_ROLE_MAP); 401 OIDC_LOGIN_FAILED when the state, code, tokens or claims do not check out. A browser's navigation (Accept: text/html) is refused with a 302 to /signin?sso_error=<reason> instead.",
      security: [],
      responses: { "302": { description: "signed in: to returnTo, with Set-Cookie daalu_session; refused (browser): to /signin?sso_error=<reason>" }, "401": h.problem, "403": h.problem, "404": h.problem, "409": h.problem, "503": h.problem },
    },
  },
  "/v1/auth/cli/authorize": {
    get: {
      summary: "The CLI's browser login (daalu login): 302 to redirect_uri?code=..&state=.. when signed in, else to /signin?returnTo=<this URL>",
      description: "redirect_uri must be http://127.0.0.1:<port>/... or http://localhost:<port>/... (400 INVALID_REDIRECT_URI). The code is single-use and lives 2 minutes.",
      security: [],
      parameters: h.queryParams(cliAuthorizeQuery),
      responses: { "302": { description: "to the CLI's loopback redirect, or to the sign-in page" }, "400": h.problem },
    },
  },
  "/v1/auth/cli/token": {
    post: {
      summary: "Exchange the CLI's code and PKCE verifier for a new API token (named cli:<username>:<date>, the user's role)",
      description: "400 INVALID_GRANT when the code is unknown, expired or used (the first attempt uses it up, right or wrong) or the verifier does not match.",
      security: [],
      requestBody: h.body(cliTokenBody),
      responses: { "200": h.json(obj({ token: str, tenantId: str, username: str, role: str })), "400": h.problem, "415": h.problem, "500": h.problem, "503": h.problem },
    },
  },
  };
}
