import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ChangeEvent, FormEvent } from "react";
import type { components } from "../../api/schema";
import { rawBody } from "../../shared/files";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

type Business = components["schemas"]["Business"];

/** The business's name, website and logo (shown to customers when they join). */
export function BusinessDetails({ business }: { business: Business }) {
  const queries = useQueryClient();
  const path = { business_id: business.id };
  const refresh = () => queries.invalidateQueries({ queryKey: ["business", business.id] });
  const save = useMutation({
    mutationFn: async (body: components["schemas"]["UpdateBusiness"]) =>
      (
        await api.PATCH("/v1/businesses/{business_id}", {
          params: { path, header: { "If-Match": `"${business.version}"` } },
          body,
        })
      ).data,
    onSuccess: refresh,
  });
  const logo = useMutation({
    mutationFn: async (file: File) =>
      (
        await api.PUT("/v1/businesses/{business_id}/logo", { params: { path }, ...rawBody(file) })
      ).data,
    onSuccess: refresh,
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const website = String(f.get("website") ?? "").trim();
    save.mutate({ name: String(f.get("name")), website: website || null });
  }
  function pick(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    if (file) logo.mutate(file);
  }
  return (
    <details className="business-details">
      <summary>Business details and logo</summary>
      {business.logo_url && <img src={business.logo_url} alt={`${business.name} logo`} width={96} height={96} className="thumb" />}
      <form key={business.version} onSubmit={submit} noValidate>
        <Field label="Business name" name="name" defaultValue={business.name} required error={save.error} />
        <Field label="Website" name="website" type="url" defaultValue={business.website ?? ""} error={save.error} />
        <ErrorBanner error={save.error} />
        <Button type="submit" busy={save.isPending}>
          Save details
        </Button>
      </form>
      <div className="field">
        <label htmlFor="logo">Logo (PNG, JPEG or WebP)</label>
        <input id="logo" type="file" accept="image/png,image/jpeg,image/webp" onChange={pick} />
      </div>
      <ErrorBanner error={logo.error} />
    </details>
  );
}
