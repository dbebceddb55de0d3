import { useQuery } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { StoreDetails } from "../setup/StoreDetails";
import { oneLine } from "../setup/address";
import { Terminals } from "./Terminals";

/** A business's stores, a new one, and each store's terminals. */
export function Stores({ businessId, manage, managed = [] }: { businessId: string; manage: boolean; managed?: string[] }) {
  const key = ["stores", businessId];
  const stores = useQuery({
    queryKey: key,
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/stores", { params: { path: { business_id: businessId } } })).data,
  });
  const brands = useQuery({
    queryKey: ["brands", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/brands", { params: { path: { business_id: businessId } } })).data,
  });
  const create = useCreate(
    key,
    async (body: { name: string; timezone: string }) =>
      (await api.POST("/v1/businesses/{business_id}/stores", { params: { path: { business_id: businessId } }, body }))
        .data,
  );

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: String(f.get("name")), timezone: String(f.get("timezone")) });
  }

  return (
    <section aria-labelledby="stores">
      <h2 id="stores">Stores</h2>
      <ErrorBanner error={stores.error} />
      <ul className="cards">
        {stores.data?.items.map((s) => (
          <li key={s.id}>
            <strong>{s.name}</strong>
            {!s.is_active && <span className="hint"> (closed)</span>}
            <div className="hint">
              {[oneLine(s.address), s.timezone].filter(Boolean).join(" · ")}
            </div>
            {manage && <StoreDetails store={s} brands={brands.data?.items ?? []} businessId={businessId} />}
            {(manage || managed.includes(s.id)) && <Terminals storeId={s.id} storeName={s.name} />}
          </li>
        ))}
      </ul>
      {manage && (
        <form key={create.form} onSubmit={submit} noValidate>
          <Field label="Store name" name="name" required error={create.error} />
          <Field
            label="Time zone"
            name="timezone"
            defaultValue={Intl.DateTimeFormat().resolvedOptions().timeZone}
            hint="As in Europe/Madrid: opening hours and daily caps follow it."
            error={create.error}
          />
          <ErrorBanner error={create.error} />
          <Button type="submit" busy={create.isPending}>
            Add store
          </Button>
        </form>
      )}
    </section>
  );
}
