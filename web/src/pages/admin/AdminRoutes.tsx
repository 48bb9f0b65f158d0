// The admin pages under /admin/*: each loaded on first visit, and routed only when the
// signed-in role may use it (the API refuses the others with 403 anyway).
import { lazy, Suspense, type ComponentType, type LazyExoticComponent } from "react";
import { Route, Routes } from "react-router-dom";
import { useAuth } from "../../auth";
import { adminPages } from "../../lib/adminPages";

const PAGES: Record<string, LazyExoticComponent<ComponentType>> = {
  "/admin/users": lazy(() => import("./Users")),
  "/admin/api-keys": lazy(() => import("./ApiKeys")),
  "/admin/webhooks": lazy(() => import("./Webhooks")),
  "/admin/categories": lazy(() => import("./Categories")),
  "/admin/scorecards": lazy(() => import("./Scorecards")),
  "/admin/pipeline": lazy(() => import("./PipelineConfig")),
  "/admin/businesses": lazy(() => import("./Businesses")),
  "/admin/agents": lazy(() => import("./AgentConfigs")),
  "/admin/notifications": lazy(() => import("./Notifications")),
};

export default function AdminRoutes() {
  const { session } = useAuth();
  if (!session) return null;
  const allowed = adminPages(session.role);
  return (
    <Suspense
      fallback={
        <p className="muted" role="status" aria-busy="true">
          Loading the page…
        </p>
      }
    >
      <Routes>
        {allowed.map((p) => {
          const Page = PAGES[p.path];
          return Page ? <Route key={p.path} path={p.path.slice("/admin/".length)} element={<Page />} /> : null;
        })}
        <Route path="*" element={<NotAllowed />} />
      </Routes>
    </Suspense>
  );
}

function NotAllowed() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>This page does not exist, or your role may not use it.</p>
      <p>
        <a href="/calls">Go to the calls</a>
      </p>
    </section>
  );
}
