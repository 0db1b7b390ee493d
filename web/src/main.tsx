import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useHref, useLocation, useNavigate, type NavigateOptions } from "react-router";
import { RouterProvider as AriaRouter } from "react-aria-components";
import { setUnauthenticatedHandler } from "./api";
import { SessionProvider, useSession } from "./session";
import { LiveProvider } from "./live";
import { Shell } from "./pages/Shell";
import { SignInPage } from "./pages/SignIn";
import { ClustersPage } from "./pages/Clusters";
import { ClusterDetailPage } from "./pages/ClusterDetail";
import { NotFoundPage, RbacPage, ReconciliationPage } from "./pages/Placeholders";
import { SubnetSettingsPage } from "./pages/SubnetSettings";
import "./styles.css";

declare module "react-aria-components" {
  interface RouterConfig {
    routerOptions: NavigateOptions;
  }
}

/** react-aria's links navigate through react-router. */
function AriaRouting() {
  const navigate = useNavigate();
  return (
    <AriaRouter navigate={(to, opts) => void navigate(to, opts)} useHref={useHref}>
      <Outlet />
    </AriaRouter>
  );
}

/** Pages behind sign-in: without a session, /signin?returnTo=<here>. */
function SignedIn() {
  const { user, expired } = useSession();
  const loc = useLocation();
  useEffect(() => setUnauthenticatedHandler(expired), [expired]);
  if (user === undefined) return <p className="page-loading" role="status">Loading…</p>;
  if (user === null) return <Navigate to={`/signin?returnTo=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  return (
    <LiveProvider>
      <Shell>
        <Outlet />
      </Shell>
    </LiveProvider>
  );
}

const router = createBrowserRouter([
  {
    element: <AriaRouting />,
    children: [
      { path: "/signin", element: <SignInPage /> },
      {
        element: <SignedIn />,
        children: [
          { path: "/", element: <Navigate to="/clusters" replace /> },
          { path: "/clusters", element: <ClustersPage /> },
          { path: "/clusters/:id", element: <ClusterDetailPage /> },
          { path: "/clusters/:id/:tab", element: <ClusterDetailPage /> },
          { path: "/settings/clusters/subnet", element: <SubnetSettingsPage /> },
          { path: "/settings/clusters/reconciliation", element: <ReconciliationPage /> },
          { path: "/settings/clusters/:id/rbac", element: <RbacPage /> },
          { path: "*", element: <NotFoundPage /> },
        ],
      },
    ],
  },
]);

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <SessionProvider>
      <RouterProvider router={router} />
    </SessionProvider>
  </StrictMode>,
);
