import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import type { components } from "../../api/schema";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

type Brand = components["schemas"]["Brand"];

/** A business's brands (a group of stores a brand manager looks after). */
export function Brands({ businessId }: { businessId: string }) {
  const key = ["brands", businessId];
  const path = { business_id: businessId };
  const list = useQuery({
    queryKey: key,
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/brands", { params: { path } })).data,
  });
  const create = useCreate(key, async (name: string) =>
      (await api.POST("/v1/businesses/{business_id}/brands", { params: { path }, body: { name } })).data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    create.mutate(String(new FormData(e.currentTarget).get("name")));
  }
  return (
    <section aria-labelledby="brands">
      <h2 id="brands">Brands</h2>
      <p className="hint">Optional: group stores under a brand, and give a brand manager its stores and programs.</p>
      <ErrorBanner error={list.error} />
      <ul>
        {list.data?.items.map((b) => (
          <BrandItem key={b.id} brand={b} businessId={businessId} />
        ))}
      </ul>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Brand name" name="name" required error={create.error} />
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Add brand
        </Button>
      </form>
    </section>
  );
}

function BrandItem({ brand: b, businessId }: { brand: Brand; businessId: string }) {
  const queries = useQueryClient();
  const rename = useMutation({
    mutationFn: async (name: string) =>
      (
        await api.PATCH("/v1/brands/{brand_id}", {
          params: { path: { brand_id: b.id }, header: { "If-Match": `"${b.version}"` } },
          body: { name },
        })
      ).data,
    onSuccess: () => queries.invalidateQueries({ queryKey: ["brands", businessId] }),
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    rename.mutate(String(new FormData(e.currentTarget).get("name")));
  }
  return (
    <li>
      {b.name}
      <details>
        <summary>Rename {b.name}</summary>
        <form onSubmit={submit} noValidate>
          <Field label={`New name for ${b.name}`} name="name" defaultValue={b.name} required error={rename.error} />
          <ErrorBanner error={rename.error} />
          <Button type="submit" busy={rename.isPending}>
            Rename
          </Button>
        </form>
      </details>
    </li>
  );
}
