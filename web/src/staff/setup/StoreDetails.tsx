import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import type { components } from "../../api/schema";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { readAddress, writeAddress } from "./address";

type Store = components["schemas"]["Store"];
type Brand = components["schemas"]["Brand"];

/** A store's name, time zone, brand, address, and whether it is open for business. */
export function StoreDetails({ store, brands, businessId }: { store: Store; brands: Brand[]; businessId: string }) {
  const queries = useQueryClient();
  const save = useMutation({
    mutationFn: async (body: components["schemas"]["UpdateStore"]) =>
      (
        await api.PATCH("/v1/stores/{store_id}", {
          params: { path: { store_id: store.id }, header: { "If-Match": `"${store.version}"` } },
          body,
        })
      ).data,
    onSuccess: () => queries.invalidateQueries({ queryKey: ["stores", businessId] }),
  });
  const a = readAddress(store.address);
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const brand = String(f.get("brand_id") ?? "");
    save.mutate({
      name: String(f.get("name")),
      timezone: String(f.get("timezone")),
      address: writeAddress(store.address, f),
      brand_id: brand || null,
    });
  }
  return (
    <details>
      <summary>Details of {store.name}</summary>
      <form key={store.version} onSubmit={submit} noValidate>
        <Field label="Name" name="name" defaultValue={store.name} required error={save.error} />
        <Field label="Time zone" name="timezone" defaultValue={store.timezone} error={save.error} />
        {brands.length > 0 && (
          <div className="field">
            <label htmlFor={`brand-${store.id}`}>Brand</label>
            <select id={`brand-${store.id}`} name="brand_id" defaultValue={store.brand_id ?? ""}>
              <option value="">No brand</option>
              {brands.map((b) => (
                <option key={b.id} value={b.id}>
                  {b.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <Field label="Street" name="street" defaultValue={a.street} autoComplete="street-address" />
        <Field label="Postcode" name="postcode" defaultValue={a.postcode} autoComplete="postal-code" />
        <Field label="City" name="city" defaultValue={a.city} autoComplete="address-level2" />
        <Field label="Country" name="country" defaultValue={a.country} autoComplete="country-name" />
        <ErrorBanner error={save.error} />
        <Button type="submit" busy={save.isPending}>
          Save {store.name}
        </Button>{" "}
        <Button
          type="button"
          className="secondary"
          onClick={() => save.mutate({ is_active: !store.is_active })}
        >
          {store.is_active ? "Close this store" : "Reopen this store"}
        </Button>
      </form>
    </details>
  );
}
