import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { parseSetCookie } from "cookie";
import Provider, { type KoaContextWithOIDC } from "oidc-provider";
import { freePort } from "@daalu/runtime";

/**
 * A real OpenID provider (oidc-provider) on 127.0.0.1 for the gateway's
 * single sign-on tests. Its one interaction, login, is answered by the test:
 * whoever `signInAs` names is signed in without a form — or, with `loginForm`,
 * a person types a user name into a form (the browser tests); consent is implied.
 */
export interface TestIdp {
  issuer: string;
  /** The people it knows, by subject; the test may change their groups. */
  people: Map<string, { name: string; username: string; groups: string[] }>;
  /** Who the next login signs in as. */
  signInAs: string;
  /** Ask for the user name in an HTML form instead of using `signInAs`. */
  loginForm: boolean;
  stop(): Promise<void>;
}

export const SCOPES = "openid profile email groups";

/** The gateway's single sign-on settings for `idp` (tenant acme; group daalu-admins → admin, daalu-ops → operator). */
export function gatewayOidcEnv(idp: TestIdp, client: { clientId: string; clientSecret: string }): Record<string, string> {
  return {
    GATEWAY_OIDC_ISSUER: idp.issuer,
    GATEWAY_OIDC_CLIENT_ID: client.clientId,
    GATEWAY_OIDC_CLIENT_SECRET: client.clientSecret,
    GATEWAY_OIDC_TENANT: "acme",
    GATEWAY_OIDC_ROLE_MAP: "daalu-admins=admin,daalu-ops=operator",
    GATEWAY_OIDC_LABEL: "Sign in with Test IdP",
  };
}

export async function startIdp(client: { clientId: string; clientSecret: string; redirectUri: string }): Promise<TestIdp> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const idp: TestIdp = { issuer, people: new Map(), signInAs: "", loginForm: false, stop: async () => undefined };
  const provider = new Provider(issuer, {
    clients: [{ client_id: client.clientId, client_secret: client.clientSecret, redirect_uris: [client.redirectUri], grant_types: ["authorization_code"], response_types: ["code"] }],
    claims: { openid: ["sub"], profile: ["name", "preferred_username"], groups: ["groups"] },
    scopes: ["openid", "profile", "email", "groups"],
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["test-only-cookie-key-0123456789abcdef"] },
    ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async findAccount(_ctx, sub) {
      const p = idp.people.get(sub);
      if (!p) return undefined;
      return { accountId: sub, claims: () => ({ sub, name: p.name, preferred_username: p.username, groups: p.groups }) };
    },
    // Consent is implied: every login is granted the scopes it asks for.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope(SCOPES);
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  const server: Server = createServer((req, res) => {
    if (req.url?.startsWith("/interaction/")) {
      const finish = (accountId: string) =>
        provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false }).catch((err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        });
      if (!idp.loginForm) void finish(idp.signInAs);
      else if (req.method === "GET") loginPage(res, req.url);
      else void readForm(req).then((form) => {
        const sub = [...idp.people].find(([, p]) => p.username === form.get("username"))?.[0];
        if (sub) void finish(sub);
        else loginPage(res, req.url!, "unknown user");
      });
      return;
    }
    void callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  idp.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return idp;
}

function loginPage(res: ServerResponse, action: string, error = ""): void {
  res.writeHead(error ? 401 : 200, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html lang="en"><head><title>Test IdP sign-in</title></head><body><main>
<h1>Test IdP</h1>${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="${action}"><label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required><button type="submit">Continue</button></form>
</main></body></html>`);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * A browser, as far as a login needs one: a cookie jar per origin and
 * redirects followed by hand (each hop is visible to the test).
 */
export class TestBrowser {
  private readonly jars = new Map<string, Map<string, string>>();

  /** GET `url` without following redirects; the response's cookies go into the jar. */
  async get(url: string): Promise<Response> {
    const u = new URL(url);
    const jar = this.jars.get(u.origin) ?? new Map<string, string>();
    this.jars.set(u.origin, jar);
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(u, { redirect: "manual", headers: cookie ? { cookie } : {} });
    for (const sc of res.headers.getSetCookie()) {
      const c = parseSetCookie(sc);
      if (c.value === "" || c.maxAge === 0) jar.delete(c.name);
      else jar.set(c.name, c.value ?? "");
    }
    return res;
  }

  /** Follows redirects from `url` until an answer is no redirect or `stopAt` accepts the next URL; returns that response and URL. */
  async follow(url: string, stopAt: (u: URL) => boolean, maxHops = 10): Promise<{ res: Response; url: string }> {
    let at = url;
    for (let i = 0; i < maxHops; i++) {
      const res = await this.get(at);
      const loc = res.headers.get("location");
      if (res.status < 300 || res.status >= 400 || !loc) return { res, url: at };
      at = new URL(loc, at).href;
      if (stopAt(new URL(at))) return { res, url: at };
    }
    throw new Error(`more than ${maxHops} redirects from ${url}`);
  }

  cookie(origin: string, name: string): string | undefined {
    return this.jars.get(origin)?.get(name);
  }
}
