import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import type { components } from "../../api/schema";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

type Campaign = components["schemas"]["Campaign"];

/** `2026-12-05T10:00` (a datetime-local field) as the API's local time. */
export function localTime(value: string): string {
  return value.length === 16 ? `${value}:00` : value;
}

/** Time-boxed boosts: double points, a bonus stamp, in each store's local time. */
export function Campaigns({ programId, kind, campaigns }: { programId: string; kind: string; campaigns: Campaign[] }) {
  const create = useCreate(
    ["program", programId],
    async (body: components["schemas"]["CreateCampaign"]) =>
      (await api.POST("/v1/programs/{program_id}/campaigns", { params: { path: { program_id: programId } }, body }))
        .data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({
      name: String(f.get("name")),
      starts_local: localTime(String(f.get("starts"))),
      ends_local: localTime(String(f.get("ends"))),
      ...(kind === "points"
        ? { multiplier_pct: Math.round(Number(f.get("multiplier")) * 100) }
        : { bonus_stamps: Number(f.get("bonus")) }),
    });
  }
  return (
    <section aria-labelledby="campaigns">
      <h3 id="campaigns">Campaigns</h3>
      <ul>
        {campaigns.map((c) => (
          <CampaignItem key={c.id} programId={programId} kind={kind} campaign={c} />
        ))}
      </ul>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Campaign name" name="name" placeholder="Happy hour" required error={create.error} />
        <Field label="Starts (each store's local time)" name="starts" type="datetime-local" required error={create.error} />
        <Field label="Ends" name="ends" type="datetime-local" required error={create.error} />
        {kind === "points" ? (
          <Field label="Points multiplied by" name="multiplier" type="number" min={1} step={0.25} defaultValue={2} />
        ) : (
          <Field label="Extra stamps a visit" name="bonus" type="number" min={1} defaultValue={1} />
        )}
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Add campaign
        </Button>
      </form>
    </section>
  );
}

/** One campaign: its window and boost, switched off or on again. */
function CampaignItem({ programId, kind, campaign: c }: { programId: string; kind: string; campaign: Campaign }) {
  const queries = useQueryClient();
  const toggle = useMutation({
    mutationFn: async () =>
      (
        await api.PATCH("/v1/campaigns/{campaign_id}", {
          params: { path: { campaign_id: c.id }, header: { "If-Match": `"${c.version}"` } },
          body: { is_active: !c.is_active },
        })
      ).data,
    onSuccess: () => queries.invalidateQueries({ queryKey: ["program", programId] }),
  });
  return (
    <li>
      <strong>{c.name}</strong>{" "}
      <span className="hint">
        {c.starts_local.slice(0, 16).replace("T", " ")} – {c.ends_local.slice(0, 16).replace("T", " ")}:{" "}
        {kind === "points" ? `points ×${c.multiplier_pct / 100}` : `+${c.bonus_stamps} stamps a visit`}
        {c.is_active ? "" : " (off)"}
      </span>{" "}
      <Button type="button" className="secondary" busy={toggle.isPending} onClick={() => toggle.mutate()}>
        {c.is_active ? `Switch ${c.name} off` : `Switch ${c.name} on`}
      </Button>
      <ErrorBanner error={toggle.error} />
    </li>
  );
}
