import { useSyncExternalStore } from "react";
import { getSnapshot, subscribe } from "./api/client";
import type { Role } from "./api/types";

export function useAuth() {
  return useSyncExternalStore(subscribe, getSnapshot);
}

export const ROLE_LABEL: Record<Role, string> = {
  platform_admin: "Platform admin",
  admin: "Admin",
  analyst: "Analyst",
  viewer: "Viewer",
};

// Who may write notes (the API: analysts and admins; platform admins act as admins).
export function canWriteNotes(role: Role): boolean {
  return role !== "viewer";
}
