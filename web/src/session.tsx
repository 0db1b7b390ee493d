/**
 * Who is signed in: GET /v1/session on load, POST to sign in, DELETE to sign
 * out. The CSRF token of the session goes with every change (api.ts).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, setCsrfToken, type Session, type User } from "./api";

interface SessionState {
  /** undefined while the first GET /v1/session is on its way. */
  user: User | null | undefined;
  signIn(tenant: string, username: string, password: string): Promise<void>;
  signOut(): Promise<void>;
  /** The server said the session is gone. */
  expired(): void;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const adopt = useCallback((s: Session | null) => {
    setCsrfToken(s?.csrfToken ?? "");
    setUser(s?.user ?? null);
  }, []);

  useEffect(() => {
    let live = true;
    api<Session>("GET", "/v1/session", undefined, { quiet401: true })
      .then((s) => live && adopt(s))
      .catch(() => live && adopt(null));
    return () => {
      live = false;
    };
  }, [adopt]);

  const value = useMemo<SessionState>(
    () => ({
      user,
      async signIn(tenant, username, password) {
        const s = await api<Session>("POST", "/v1/session", { tenant, username, password }, { quiet401: true });
        adopt(s);
      },
      async signOut() {
        try {
          await api("DELETE", "/v1/session", undefined, { quiet401: true });
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 401) throw err;
        }
        adopt(null);
      },
      expired() {
        adopt(null);
      },
    }),
    [user, adopt],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const s = useContext(Ctx);
  if (!s) throw new Error("useSession outside SessionProvider");
  return s;
}

