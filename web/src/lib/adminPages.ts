// Which admin pages a role sees (the navigation and the /admin routes). Kept apart from
// src/lib/admin.ts so the first-load bundle holds only this.
import type { Role } from "../api/types";

export interface AdminPage {
  path: string;
  label: string;
}

// Every admin route of the API needs a business admin (or a platform admin acting on the
// business); listing and changing businesses needs a platform admin. Analysts and viewers
// get 403 on all of them, so they see none of these pages.
const BUSINESS_PAGES: AdminPage[] = [
  { path: "/admin/users", label: "Users" },
  { path: "/admin/api-keys", label: "API keys" },
  { path: "/admin/webhooks", label: "Webhooks" },
  { path: "/admin/categories", label: "Categories" },
  { path: "/admin/scorecards", label: "Scorecards" },
  { path: "/admin/pipeline", label: "Pipeline config" },
  { path: "/admin/agents", label: "Agent configs" },
  { path: "/admin/notifications", label: "Notifications" },
];

export function adminPages(role: Role): AdminPage[] {
  if (role === "platform_admin") return [{ path: "/admin/businesses", label: "Businesses" }, ...BUSINESS_PAGES];
  if (role === "admin") return BUSINESS_PAGES;
  return [];
}

export function canSeeAdminPage(role: Role, path: string): boolean {
  return adminPages(role).some((p) => p.path === path);
}
