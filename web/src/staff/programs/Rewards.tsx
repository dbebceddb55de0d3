import { useMutation, useQueryClient } from "@tanstack/react-query";
import type { ChangeEvent, FormEvent } from "react";
import type { components } from "../../api/schema";
import { rawBody } from "../../shared/files";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

type Reward = components["schemas"]["Reward"];

/** A program's rewards: what each costs, how many are left, its picture; add one, change one. */
export function Rewards({ programId, unit, rewards }: { programId: string; unit: string; rewards: Reward[] }) {
  const create = useCreate(
    ["program", programId],
    async (body: { name: string; cost: number; stock?: number }) =>
      (await api.POST("/v1/programs/{program_id}/rewards", { params: { path: { program_id: programId } }, body })).data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const stock = String(f.get("stock") ?? "").trim();
    create.mutate({ name: String(f.get("name")), cost: Number(f.get("cost")), ...(stock ? { stock: Number(stock) } : {}) });
  }
  return (
    <section aria-labelledby="rewards">
      <h3 id="rewards">Rewards</h3>
      <ul className="cards">
        {rewards.map((r) => (
          <RewardItem key={r.id} programId={programId} reward={r} unit={unit} />
        ))}
      </ul>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Reward name" name="name" placeholder="Free coffee" required error={create.error} />
        <Field label={`Cost in ${unit}`} name="cost" type="number" min={1} defaultValue={10} error={create.error} />
        <Field label="How many there are" name="stock" type="number" min={0} hint="Leave empty for no limit." error={create.error} />
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Add reward
        </Button>
      </form>
    </section>
  );
}

function RewardItem({ programId, reward: r, unit }: { programId: string; reward: Reward; unit: string }) {
  const queries = useQueryClient();
  const refresh = () => queries.invalidateQueries({ queryKey: ["program", programId] });
  const path = { reward_id: r.id };
  const save = useMutation({
    mutationFn: async (body: { cost?: number; stock?: number | null; is_active?: boolean }) =>
      (await api.PATCH("/v1/rewards/{reward_id}", { params: { path, header: { "If-Match": `"${r.version}"` } }, body }))
        .data,
    onSuccess: refresh,
  });
  const image = useMutation({
    mutationFn: async (file: File) =>
      (
        await api.PUT("/v1/rewards/{reward_id}/image", { params: { path }, ...rawBody(file) })
      ).data,
    onSuccess: refresh,
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const stock = String(f.get("stock") ?? "").trim();
    save.mutate({ cost: Number(f.get("cost")), stock: stock ? Number(stock) : null });
  }
  function pick(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    if (file) image.mutate(file);
  }
  return (
    <li>
      {r.image_url && <img src={r.image_url} alt="" width={96} height={96} className="thumb" />}
      <strong>{r.name}</strong> {!r.is_active && <span className="hint">(withdrawn)</span>}
      <div className="hint">
        for {r.cost} {unit}; {r.stock === null || r.stock === undefined ? "no limit" : `${r.stock} left`}
      </div>
      <details>
        <summary>Change {r.name}</summary>
        <form onSubmit={submit} noValidate>
          <Field label={`Cost of ${r.name}`} name="cost" type="number" min={1} defaultValue={r.cost} error={save.error} />
          <Field
            label={`How many ${r.name} there are`}
            name="stock"
            type="number"
            min={0}
            defaultValue={r.stock ?? ""}
            hint="Empty: no limit."
            error={save.error}
          />
          <ErrorBanner error={save.error} />
          <Button type="submit" busy={save.isPending}>
            Save
          </Button>{" "}
          <Button type="button" className="secondary" onClick={() => save.mutate({ is_active: !r.is_active })}>
            {r.is_active ? "Withdraw" : "Offer again"}
          </Button>
        </form>
        <div className="field">
          <label htmlFor={`image-${r.id}`}>Picture of {r.name} (PNG, JPEG or WebP, up to 2 MB)</label>
          <input id={`image-${r.id}`} type="file" accept="image/png,image/jpeg,image/webp" onChange={pick} />
        </div>
        <ErrorBanner error={image.error} />
      </details>
    </li>
  );
}
