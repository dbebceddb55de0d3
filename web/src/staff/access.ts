// What the signed-in person may open in a business, from their roles in it.
// The server decides every request; this only spares people pages that would
// answer "not found" for them.
import type { components } from "../api/schema";

type Membership = components["schemas"]["Membership"];

export type Tab = "setup" | "dashboard" | "team" | "marketing" | "exports" | "audit";

export interface Access {
  tabs: Tab[];
  /** Stores whose figures they may see when they may not see the whole business's. */
  storesOnly: string[] | null;
}

export function access(memberships: Membership[], businessId: string): Access {
  const here = memberships.filter((m) => m.business_id === businessId);
  if (here.some((m) => m.role === "owner" || m.role === "admin")) {
    return { tabs: ["setup", "dashboard", "team", "marketing", "exports", "audit"], storesOnly: null };
  }
  const managed = here.filter((m) => m.role === "store_manager" && m.scope.kind === "store");
  if (here.some((m) => m.role === "brand_manager") || managed.length > 0) {
    // A brand manager's stores are those of the brand: the server says which
    // when asked per store; the console offers them the store picker.
    const stores = managed.map((m) => (m.scope.kind === "store" ? m.scope.store_id : "")).filter(Boolean);
    return { tabs: ["setup", "dashboard"], storesOnly: stores };
  }
  return { tabs: ["setup"], storesOnly: [] };
}
