/** The frame of every signed-in page: who is signed in, the live stream's state, sign-out. */
import type { ReactNode } from "react";
import { Button, Link } from "react-aria-components";
import { useNavigate } from "react-router";
import { messageOf, may } from "../api";
import { useLive } from "../live";
import { useSession } from "../session";
import { useState } from "react";

export function Shell({ children }: { children: ReactNode }) {
  const { user, signOut } = useSession();
  const live = useLive();
  const navigate = useNavigate();
  const [err, setErr] = useState<string | null>(null);
  const streamWords =
    live.stream === "open" ? "Live" : live.stream === "connecting" ? "Connecting…" : `Reconnecting…${live.retryInS !== null ? ` (next try in ${live.retryInS} s)` : ""}`;
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Daalu Federation</span>
        <nav aria-label="Main">
          <Link href="/clusters">Clusters</Link>
          {may(user?.role, "admin") && <Link href="/settings/clusters/subnet">Settings</Link>}
        </nav>
        <span className={`stream stream-${live.stream}`} role="status" aria-live="polite" data-stream={live.stream}>
          <span className="dot" aria-hidden="true" />
          {streamWords}
        </span>
        <span className="who">
          {user?.displayName || user?.username} <span className="role">({user?.role})</span>
        </span>
        <Button
          className="btn btn-plain"
          onPress={() => {
            signOut()
              .then(() => navigate("/signin"))
              .catch((e: unknown) => setErr(messageOf(e)));
          }}
        >
          Sign out
        </Button>
      </header>
      {err && (
        <p className="banner error" role="alert">
          {err}
        </p>
      )}
      <main id="main">{children}</main>
    </>
  );
}
