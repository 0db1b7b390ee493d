import { lazy, StrictMode, Suspense, useEffect, type ReactNode } from "react";
import { createRoot } from "react-dom/client";
import { createBrowserRouter, Navigate, Outlet, RouterProvider, useHref, useLocation, useNavigate, type NavigateOptions } from "react-router";
import { RouterProvider as AriaRouter } from "react-aria-components";
import { setUnauthenticatedHandler } from "./api";
import { SessionProvider, useSession } from "./session";
import { LiveProvider } from "./live";
import { Shell } from "./pages/Shell";
import { ClustersPage } from "./pages/Clusters";

// The clusters list is the page people land on; the others load when first opened (their own chunks).
const SignInPage = lazy(() => import("./pages/SignIn").then((m) => ({ default: m.SignInPage })));
const ClusterDetailPage = lazy(() => import("./pages/ClusterDetail").then((m) => ({ default: m.ClusterDetailPage })));
const NotFoundPage = lazy(() => import("./pages/Placeholders").then((m) => ({ default: m.NotFoundPage })));
const RbacPage = lazy(() => import("./pages/Rbac").then((m) => ({ default: m.RbacPage })));
const SubnetSettingsPage = lazy(() => import("./pages/SubnetSettings").then((m) => ({ default: m.SubnetSettingsPage })));
const ReconciliationPage = lazy(() => import("./pages/Drift").then((m) => ({ default: m.ReconciliationPage })));

const loading = <p className="page-loading" role="status">Loading…</p>;
const later = (page: ReactNode) => <Suspense fallback={loading}>{page}</Suspense>;

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
  if (user === undefined) return loading;
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
      { path: "/signin", element: later(<SignInPage />) },
      {
        element: <SignedIn />,
        children: [
          { path: "/", element: <Navigate to="/clusters" replace /> },
          { path: "/clusters", element: <ClustersPage /> },
          { path: "/clusters/:id", element: later(<ClusterDetailPage />) },
          { path: "/clusters/:id/:tab", element: later(<ClusterDetailPage />) },
          { path: "/settings/clusters/subnet", element: later(<SubnetSettingsPage />) },
          { path: "/settings/clusters/reconciliation", element: later(<ReconciliationPage />) },
          { path: "/settings/clusters/:id/rbac", element: later(<RbacPage />) },
          { path: "*", element: later(<NotFoundPage />) },
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
