/**
 * Sign-in: tenant, user name and password (POST /v1/session), or single
 * sign-on when the hub has it (GET /v1/auth/config). `?returnTo=` (same-origin
 * relative paths only) is where the person goes next, e.g. the CLI's browser
 * login.
 */
import { useEffect, useState } from "react";
import { Button, FieldError, Form, Input, Label, TextField } from "react-aria-components";
import { Navigate, useNavigate, useSearchParams } from "react-router";
import { api, messageOf } from "../api";
import { ErrorLine } from "../ui";
import { useSession } from "../session";
import { safeReturnTo } from "../return-to";

/** Paths the app itself routes; anything else (a server page) is a full page load. */
const APP_PATH = /^\/(clusters|settings|signin)(\/|$|\?)/;

/** What a refused single sign-on means, from the reason the gateway's callback puts in `?sso_error=`. */
function ssoErrorText(reason: string | null): string | null {
  if (!reason) return null;
  switch (reason) {
    case "NO_ROLE_FOR_GROUPS":
      return "You signed in at your identity provider, but none of your groups grants a role here. Ask an administrator to map one of your groups to a role.";
    case "USER_DISABLED":
      return "This user is disabled here. Ask an administrator to enable it.";
    case "OIDC_LOGIN_FAILED":
      return "Single sign-on did not complete: it took too long, was started in another browser, or the identity provider's answer was refused. Try again.";
    default:
      return `Single sign-on failed (${reason}). Try again, or sign in with a password.`;
  }
}

export function SignInPage() {
  const { user, signIn } = useSession();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const returnTo = safeReturnTo(params.get("returnTo"), window.location.origin);
  const [tenant, setTenant] = useState(() => localStorage.getItem("daalu.tenant") ?? "");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(() => ssoErrorText(params.get("sso_error")));
  const [sso, setSso] = useState<{ enabled: boolean; label: string } | null>(null);

  useEffect(() => {
    document.title = "Sign in · Daalu Federation";
    api<{ oidc?: { enabled: boolean; label: string } }>("GET", "/v1/auth/config", undefined, { quiet401: true })
      .then((c) => setSso(c.oidc ?? null))
      .catch(() => setSso(null));
  }, []);

  const go = (to: string) => {
    if (APP_PATH.test(to)) void navigate(to, { replace: true });
    else window.location.assign(to);
  };
  if (user && APP_PATH.test(returnTo)) return <Navigate to={returnTo} replace />;

  return (
    <main id="main" className="signin">
      <h1>Sign in to Daalu Federation</h1>
      <Form
        className="card signin-form"
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          signIn(tenant.trim(), username.trim(), password)
            .then(() => {
              localStorage.setItem("daalu.tenant", tenant.trim());
              go(returnTo);
            })
            .catch((err: unknown) => setError(messageOf(err)))
            .finally(() => setBusy(false));
        }}
      >
        <TextField className="field" name="tenant" value={tenant} onChange={setTenant} isRequired autoComplete="organization">
          <Label>Tenant</Label>
          <Input />
          <FieldError />
        </TextField>
        <TextField className="field" name="username" value={username} onChange={setUsername} isRequired autoComplete="username">
          <Label>User name</Label>
          <Input />
          <FieldError />
        </TextField>
        <TextField className="field" name="password" type="password" value={password} onChange={setPassword} isRequired autoComplete="current-password">
          <Label>Password</Label>
          <Input />
          <FieldError />
        </TextField>
        <ErrorLine error={error} />
        <Button type="submit" className="btn btn-primary" isDisabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </Button>
        {sso?.enabled && (
          <a className="btn btn-plain sso" href={`/v1/auth/oidc/login?returnTo=${encodeURIComponent(returnTo)}`}>
            {sso.label || "Sign in with single sign-on"}
          </a>
        )}
      </Form>
    </main>
  );
}
