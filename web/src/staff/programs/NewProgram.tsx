import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";
import type { components } from "../../api/schema";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { type Rounding, minorUnits, scaledPoints } from "./preview";

type Rules = components["schemas"]["ProgramRules"];

/** A new stamp card or points program, with a live preview of what a visit or a purchase earns. */
export function NewProgram({ businessId }: { businessId: string }) {
  const navigate = useNavigate();
  const [kind, setKind] = useState<"stamps" | "points">("stamps");
  const create = useCreate(
    ["programs", businessId],
    async (body: { name: string; rules: Rules }) =>
      (await api.POST("/v1/businesses/{business_id}/programs", { params: { path: { business_id: businessId } }, body }))
        .data,
    (p) => p && navigate(`/b/${businessId}/programs/${p.id}`),
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: String(f.get("name")), rules: kind === "stamps" ? stampRules(f) : pointsRules(f) });
  }
  return (
    <form key={create.form} onSubmit={submit} noValidate aria-labelledby="new-program">
      <h3 id="new-program">New program</h3>
      <Field label="Program name" name="name" required error={create.error} />
      <fieldset className="field">
        <legend>Customers collect</legend>
        <label className="choice">
          <input type="radio" name="kind" checked={kind === "stamps"} onChange={() => setKind("stamps")} />
          Stamps, one a visit, toward a reward
        </label>
        <label className="choice">
          <input type="radio" name="kind" checked={kind === "points"} onChange={() => setKind("points")} />
          Points for what they spend
        </label>
      </fieldset>
      {kind === "stamps" ? <StampFields error={create.error} /> : <PointsFields error={create.error} />}
      <ErrorBanner error={create.error} />
      <Button type="submit" busy={create.isPending}>
        Create program
      </Button>
    </form>
  );
}

function stampRules(f: FormData): Rules {
  return {
    kind: "stamps",
    stamps_per_reward: Number(f.get("stamps_per_reward")),
    max_stamps_per_visit: Number(f.get("max_stamps_per_visit")),
  };
}

function pointsRules(f: FormData): Rules {
  return {
    kind: "points",
    currency: String(f.get("currency")).trim().toUpperCase(),
    points_per_unit: Number(f.get("points_per_unit")),
    unit_minor: minorUnits(String(f.get("unit"))) ?? 0,
    rounding: String(f.get("rounding")) as Rounding,
  };
}

function StampFields({ error }: { error: unknown }) {
  const [perReward, setPerReward] = useState(10);
  return (
    <>
      <Field
        label="Stamps for a reward"
        name="stamps_per_reward"
        type="number"
        min={1}
        value={perReward}
        onChange={(e) => setPerReward(Number(e.target.value))}
        error={error}
      />
      <Field label="Most stamps per visit" name="max_stamps_per_visit" type="number" min={1} defaultValue={1} />
      <p className="hint" aria-live="polite">
        Preview: a customer earns a reward after {perReward || "…"} visits with one stamp each.
      </p>
    </>
  );
}

function PointsFields({ error }: { error: unknown }) {
  const [currency, setCurrency] = useState("EUR");
  const [rate, setRate] = useState(1);
  const [unit, setUnit] = useState("1.00");
  const [rounding, setRounding] = useState<Rounding>("down");
  const [example, setExample] = useState("12.50");
  const unitMinor = minorUnits(unit);
  const amount = minorUnits(example);
  const earned = unitMinor && amount !== null ? scaledPoints(amount, rate, unitMinor, 100, rounding) : null;
  return (
    <>
      <Field
        label="Currency"
        name="currency"
        value={currency}
        onChange={(e) => setCurrency(e.target.value)}
        maxLength={3}
        hint="ISO code, as EUR or GBP: purchases in another are refused."
        error={error}
      />
      <Field
        label="Points"
        name="points_per_unit"
        type="number"
        min={1}
        value={rate}
        onChange={(e) => setRate(Number(e.target.value))}
        error={error}
      />
      <Field label="For every (amount spent)" name="unit" inputMode="decimal" value={unit} onChange={(e) => setUnit(e.target.value)} />
      <div className="field">
        <label htmlFor="rounding">Part of a step</label>
        <select id="rounding" name="rounding" value={rounding} onChange={(e) => setRounding(e.target.value as Rounding)}>
          <option value="down">earns nothing (round down)</option>
          <option value="half_up">counts from half (round half up)</option>
          <option value="up">counts as a whole step (round up)</option>
        </select>
      </div>
      <Field label="Try a purchase of" name="example" inputMode="decimal" value={example} onChange={(e) => setExample(e.target.value)} />
      <p className="hint" aria-live="polite">
        Preview:{" "}
        {earned === null
          ? "type amounts such as 1.00 and 12.50."
          : `a purchase of ${example} ${currency.toUpperCase()} earns ${earned} ${earned === 1 ? "point" : "points"}.`}
      </p>
    </>
  );
}
