// The console's one session and one client, and a hook that re-renders when
// the session changes (sign-in, refresh, sign-out, in this tab).
import { useSyncExternalStore } from "react";
import { Session, publicClient, sessionClient } from "../api/client";

export const session = new Session("stampede.staff.session");
export const api = sessionClient(session);
export const anonymous = publicClient();

export function useSession() {
  return useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => localStorage.getItem("stampede.staff.session"),
  );
}
