import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

/** A business's programs, a new stamp card, and each program's rewards. */
export function Programs({ businessId }: { businessId: string }) {
  const key = ["programs", businessId];
  const list = useQuery({
    queryKey: key,
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/programs", { params: { path: { business_id: businessId } } })).data,
  });
  const [perReward, setPerReward] = useState(10);
  const create = useCreate(key, async (f: FormData) =>
      (
        await api.POST("/v1/businesses/{business_id}/programs", {
          params: { path: { business_id: businessId } },
          body: {
            name: String(f.get("name")),
            rules: {
              kind: "stamps",
              stamps_per_reward: Number(f.get("stamps_per_reward")),
              max_stamps_per_visit: Number(f.get("max_stamps_per_visit")),
            },
          },
        })
      ).data,
  );

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    create.mutate(new FormData(e.currentTarget));
  }

  return (
    <section aria-labelledby="programs">
      <h2 id="programs">Programs</h2>
      <ErrorBanner error={list.error} />
      <ul className="cards">
        {list.data?.items.map((p) => (
          <li key={p.id}>
            <strong>{p.name}</strong>
            <div className="hint">
              {p.rules.kind === "stamps" ? `${p.rules.stamps_per_reward} stamps for a reward` : `points in ${p.rules.currency}`}
            </div>
            <Rewards programId={p.id} />
          </li>
        ))}
      </ul>
      <h3>New stamp card</h3>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Program name" name="name" required error={create.error} />
        <Field
          label="Stamps for a reward"
          name="stamps_per_reward"
          type="number"
          min={1}
          value={perReward}
          onChange={(e) => setPerReward(Number(e.target.value))}
          error={create.error}
        />
        <Field label="Most stamps per visit" name="max_stamps_per_visit" type="number" min={1} defaultValue={1} />
        <p className="hint" aria-live="polite">
          Preview: a customer earns a reward after {perReward || "…"} visits with one stamp each.
        </p>
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Create program
        </Button>
      </form>
    </section>
  );
}

function Rewards({ programId }: { programId: string }) {
  const key = ["rewards", programId];
  const list = useQuery({
    queryKey: key,
    queryFn: async () =>
      (await api.GET("/v1/programs/{program_id}/rewards", { params: { path: { program_id: programId } } })).data,
  });
  const create = useCreate(
    key,
    async (body: { name: string; cost: number }) =>
      (await api.POST("/v1/programs/{program_id}/rewards", { params: { path: { program_id: programId } }, body })).data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: String(f.get("name")), cost: Number(f.get("cost")) });
  }
  return (
    <div>
      <ul>
        {list.data?.items.map((r) => (
          <li key={r.id}>
            {r.name} <span className="hint">for {r.cost}</span>
          </li>
        ))}
      </ul>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Reward name" name="name" placeholder="Free coffee" required error={create.error} />
        <Field label="Cost in stamps" name="cost" type="number" min={1} defaultValue={10} error={create.error} />
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Add reward
        </Button>
      </form>
    </div>
  );
}
