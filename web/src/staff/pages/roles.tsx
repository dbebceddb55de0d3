// Roles and where they apply: owners and admins the whole business, a brand
// manager one brand, store managers and cashiers one store. One picker for
// inviting and for changing a role; the server checks who may give what.
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { components } from "../../api/schema";
import { api } from "../context";

type Role = "owner" | "admin" | "brand_manager" | "store_manager" | "cashier";
export interface RoleChoice {
  role: Role;
  brand_id?: string;
  store_id?: string;
}

const ROLES: { value: Role; label: string; at: "business" | "brand" | "store" }[] = [
  { value: "cashier", label: "Cashier", at: "store" },
  { value: "store_manager", label: "Store manager", at: "store" },
  { value: "brand_manager", label: "Brand manager", at: "brand" },
  { value: "admin", label: "Admin", at: "business" },
  { value: "owner", label: "Owner", at: "business" },
];

export interface Places {
  stores: Map<string, string>;
  brands: Map<string, string>;
}

/** Names of the business's stores and brands, to say where a role applies. */
export function usePlaces(businessId: string): Places {
  const path = { business_id: businessId };
  const stores = useQuery({
    queryKey: ["stores", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/stores", { params: { path } })).data,
  });
  const brands = useQuery({
    queryKey: ["brands", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/brands", { params: { path } })).data,
  });
  return {
    stores: new Map(stores.data?.items.map((s) => [s.id, s.name])),
    brands: new Map(brands.data?.items.map((b) => [b.id, b.name])),
  };
}

type Scope = components["schemas"]["Scope"];

export function describeRole(m: { role: string; scope: Scope }, places: Places): string {
  const label = ROLES.find((r) => r.value === m.role)?.label ?? m.role;
  if (m.scope.kind === "store") return `${label} at ${places.stores.get(m.scope.store_id) ?? "a store"}`;
  if (m.scope.kind === "brand") return `${label} of ${places.brands.get(m.scope.brand_id) ?? "a brand"}`;
  return `${label} of the business`;
}

export function roleFrom(f: FormData): RoleChoice {
  const role = String(f.get("role")) as Role;
  const at = ROLES.find((r) => r.value === role)?.at;
  if (at === "store") return { role, store_id: String(f.get("store_id")) };
  if (at === "brand") return { role, brand_id: String(f.get("brand_id")) };
  return { role };
}

/** A role and, when it needs one, the store or brand it applies to. */
export function RolePicker({ businessId, label }: { businessId: string; label: string }) {
  const places = usePlaces(businessId);
  const [role, setRole] = useState<Role>("cashier");
  const at = ROLES.find((r) => r.value === role)?.at;
  const id = `role-${label.replace(/\W+/g, "-")}`;
  return (
    <>
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <select id={id} name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      {at === "store" && <Place id={`${id}-store`} label="At store" name="store_id" options={places.stores} />}
      {at === "brand" && <Place id={`${id}-brand`} label="Of brand" name="brand_id" options={places.brands} />}
    </>
  );
}

function Place({ id, label, name, options }: { id: string; label: string; name: string; options: Map<string, string> }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} required>
        {[...options].map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
