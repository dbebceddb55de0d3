import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link, useParams } from "react-router";
import type { components } from "../../api/schema";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { Campaigns } from "./Campaigns";
import { History } from "./History";
import { Rewards } from "./Rewards";
import { describeRules } from "./describe";
import { minorUnits } from "./preview";

type Program = components["schemas"]["Program"];
type Rules = components["schemas"]["ProgramRules"];
type Changes = components["schemas"]["UpdateProgram"];

/** One program: its rules (each change a new version), pause and resume, rewards, campaigns, history. */
export function ProgramPage({ businessId }: { businessId: string }) {
  const { programId = "" } = useParams();
  const queries = useQueryClient();
  const bundle = useQuery({
    queryKey: ["program", programId],
    queryFn: async () =>
      (await api.GET("/v1/programs/{program_id}", { params: { path: { program_id: programId } } })).data,
  });
  const program = bundle.data?.program;
  const save = useMutation({
    mutationFn: async (body: Changes) =>
      (
        await api.PATCH("/v1/programs/{program_id}", {
          params: { path: { program_id: programId }, header: { "If-Match": `"${program?.version}"` } },
          body,
        })
      ).data,
    onSuccess: () =>
      Promise.all(
        [["program", programId], ["versions", programId], ["programs", businessId]].map((queryKey) =>
          queries.invalidateQueries({ queryKey }),
        ),
      ),
  });
  if (!program) return <ErrorBanner error={bundle.error} />;
  const unit = program.rules.kind === "stamps" ? "stamps" : "points";
  return (
    <section aria-labelledby="program">
      <p>
        <Link to={`/b/${businessId}`}>All programs</Link>
      </p>
      <h2 id="program">{program.name}</h2>
      <p>
        {describeRules(program.rules)}. <span className="hint">Version {program.version}.</span>{" "}
        {program.is_active ? "Running." : "Paused: the counter refuses it and nobody can join."}
      </p>
      <Button type="button" className="secondary" busy={save.isPending} onClick={() => save.mutate({ is_active: !program.is_active })}>
        {program.is_active ? "Pause program" : "Resume program"}
      </Button>
      <RulesForm key={program.version} program={program} onSave={(rules) => save.mutate({ rules })} error={save.error} busy={save.isPending} />
      <Rewards programId={programId} unit={unit} rewards={bundle.data?.rewards ?? []} />
      <Campaigns programId={programId} kind={program.rules.kind} campaigns={bundle.data?.campaigns ?? []} />
      <History programId={programId} />
    </section>
  );
}

/** The rules a business changes most; each save is a new version. */
function RulesForm({
  program,
  onSave,
  error,
  busy,
}: {
  program: Program;
  onSave: (rules: Rules) => void;
  error: unknown;
  busy: boolean;
}) {
  const r = program.rules;
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const expiry = String(f.get("expiry_days") ?? "").trim();
    const expiry_days = expiry ? Number(expiry) : null;
    if (r.kind === "stamps") {
      onSave({
        ...r,
        stamps_per_reward: Number(f.get("stamps_per_reward")),
        max_stamps_per_visit: Number(f.get("max_stamps_per_visit")),
        expiry_days,
      });
    } else {
      onSave({
        ...r,
        points_per_unit: Number(f.get("points_per_unit")),
        unit_minor: minorUnits(String(f.get("unit"))) ?? 0,
        expiry_days,
      });
    }
  }
  return (
    <form onSubmit={submit} noValidate aria-labelledby="rules">
      <h3 id="rules">Rules</h3>
      {r.kind === "stamps" ? (
        <>
          <Field label="Stamps for a reward" name="stamps_per_reward" type="number" min={1} defaultValue={r.stamps_per_reward} error={error} />
          <Field label="Most stamps per visit" name="max_stamps_per_visit" type="number" min={1} defaultValue={r.max_stamps_per_visit} error={error} />
        </>
      ) : (
        <>
          <Field label="Points" name="points_per_unit" type="number" min={1} defaultValue={r.points_per_unit} error={error} />
          <Field label={`For every (${r.currency})`} name="unit" inputMode="decimal" defaultValue={(r.unit_minor / 100).toFixed(2)} />
        </>
      )}
      <Field
        label={`Days a ${r.kind === "stamps" ? "stamp" : "point"} lasts`}
        name="expiry_days"
        type="number"
        min={1}
        defaultValue={r.expiry_days ?? ""}
        hint="Empty: they never expire."
        error={error}
      />
      <ErrorBanner error={error} />
      <Button type="submit" busy={busy}>
        Save rules
      </Button>
    </form>
  );
}
