import { lazy, Suspense, useEffect, useState, type ReactNode } from "react";
import { Navigate, Route, Routes } from "react-router-dom";
import { refresh } from "./api/client";
import { useAuth } from "./auth";
import { LoginPage } from "./pages/Login";
import { Shell } from "./pages/Shell";
import { CallsPage } from "./pages/Calls";
import { CallDetailPage } from "./pages/CallDetail";

// The analytics and pipeline pages (and uPlot with them) load on first visit, outside the
// first-load bundle.
const OverviewPage = lazy(() => import("./pages/Overview"));
const AgentsPage = lazy(() => import("./pages/Agents"));
const AgentDetailPage = lazy(() => import("./pages/AgentDetail"));
const RegionsPage = lazy(() => import("./pages/Regions"));
const PipelinePage = lazy(() => import("./pages/Pipeline"));
// chat + knowledge
const ChatPage = lazy(() => import("./pages/Chat"));
const KnowledgePage = lazy(() => import("./pages/Knowledge"));
// admin: the admin pages, each its own chunk, routed only for the roles that may use them.
const AdminRoutes = lazy(() => import("./pages/admin/AdminRoutes"));

export function App() {
  const { session } = useAuth();
  const [checking, setChecking] = useState(true);

  // A reload keeps the session: the refresh cookie gives a new access token.
  useEffect(() => {
    let live = true;
    void refresh().finally(() => {
      if (live) setChecking(false);
    });
    return () => {
      live = false;
    };
  }, []);

  if (checking && !session) {
    return (
      <main className="center" aria-busy="true">
        <p>Loading…</p>
      </main>
    );
  }
  if (!session) return <LoginPage />;
  return (
    <Routes>
      <Route element={<Shell />}>
        <Route index element={<Navigate to="/calls" replace />} />
        <Route path="calls" element={<CallsPage />} />
        <Route path="calls/:id" element={<CallDetailPage />} />
        <Route path="overview" element={<Lazy>{<OverviewPage />}</Lazy>} />
        <Route path="agents" element={<Lazy>{<AgentsPage />}</Lazy>} />
        <Route path="agents/:id" element={<Lazy>{<AgentDetailPage />}</Lazy>} />
        <Route path="regions" element={<Lazy>{<RegionsPage />}</Lazy>} />
        <Route path="pipeline" element={<Lazy>{<PipelinePage />}</Lazy>} />
        {/* chat + knowledge */}
        <Route path="chat" element={<Lazy>{<ChatPage />}</Lazy>} />
        <Route path="knowledge" element={<Lazy>{<KnowledgePage />}</Lazy>} />
        {/* admin */}
        <Route path="admin/*" element={<Lazy>{<AdminRoutes />}</Lazy>} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        <a href="/calls">Go to the calls</a>
      </p>
    </section>
  );
}

function Lazy({ children }: { children: ReactNode }) {
  return (
    <Suspense
      fallback={
        <p className="muted" role="status" aria-busy="true">
          Loading the page…
        </p>
      }
    >
      {children}
    </Suspense>
  );
}
