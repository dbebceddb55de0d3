import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Button, ErrorBanner, Field, TextArea } from "../../shared/ui";
import { api } from "../context";
import { STARTERS } from "./templates";

type Activity = "any" | "active" | "inactive";

interface Audience {
  program_id: string;
  active_within_days?: number;
  inactive_for_days?: number;
}

function audienceOf(program: string, activity: Activity, days: number): Audience {
  if (activity === "active") return { program_id: program, active_within_days: days };
  if (activity === "inactive") return { program_id: program, inactive_for_days: days };
  return { program_id: program };
}

/** Marketing mail: write it, choose who, see how many, send, follow progress. */
export function Marketing({ businessId }: { businessId: string }) {
  return (
    <section aria-labelledby="marketing">
      <h2 id="marketing">Marketing</h2>
      <p className="hint">
        Mail goes only to members of the program who agreed to hear from this business and confirmed their address.
        Each mail carries a link to stop them.
      </p>
      <Compose businessId={businessId} />
      <Sent businessId={businessId} />
    </section>
  );
}

function Compose({ businessId }: { businessId: string }) {
  const path = { business_id: businessId };
  const queries = useQueryClient();
  const programs = useQuery({
    queryKey: ["programs", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/programs", { params: { path } })).data,
  });
  const [program, setProgram] = useState("");
  const [activity, setActivity] = useState<Activity>("any");
  const [days, setDays] = useState(30);
  const [starter, setStarter] = useState(0);
  const [form, setForm] = useState(0);
  const chosen = program || programs.data?.items[0]?.id || "";
  const audience = audienceOf(chosen, activity, days);
  const size = useQuery({
    queryKey: ["audience", businessId, audience],
    enabled: chosen !== "" && days >= 1,
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/mailings/audience", { params: { path, query: audience } })).data,
  });
  const send = useMutation({
    mutationFn: async (body: Audience & { subject: string; body: string }) =>
      (await api.POST("/v1/businesses/{business_id}/mailings", { params: { path }, body })).data,
    onSuccess: () => {
      setForm((n) => n + 1);
      return queries.invalidateQueries({ queryKey: ["mailings", businessId] });
    },
  });
  const count = size.data?.recipients;
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    if (!confirm(`Send this mail to ${count ?? "the"} customers now? It cannot be called back.`)) return;
    send.mutate({ ...audience, subject: String(f.get("subject")), body: String(f.get("body")) });
  }
  const text = STARTERS[starter] ?? STARTERS[0]!;
  return (
    <form onSubmit={submit} noValidate aria-labelledby="compose">
      <h3 id="compose">New mailing</h3>
      <div className="field">
        <label htmlFor="mailing-program">To members of</label>
        <select id="mailing-program" value={chosen} onChange={(e) => setProgram(e.target.value)}>
          {programs.data?.items.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="field">
        <legend>Who</legend>
        {(
          [
            ["any", "Everyone who agreed"],
            ["active", "Only those who visited lately"],
            ["inactive", "Only those who have not visited lately"],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="choice">
            <input
              type="radio"
              name="activity"
              value={value}
              checked={activity === value}
              onChange={() => setActivity(value)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      {activity !== "any" && (
        <Field
          label="Lately means within (days)"
          name="days"
          type="number"
          min={1}
          max={3650}
          value={days}
          onChange={(e) => setDays(Number(e.target.value))}
        />
      )}
      <p role="status" className="audience">
        {size.isSuccess ? `${count} ${count === 1 ? "customer" : "customers"} will get this mail.` : " "}
      </p>
      <ErrorBanner error={size.error} />
      <div className="field">
        <label htmlFor="mailing-starter">Start from</label>
        <select
          id="mailing-starter"
          value={starter}
          onChange={(e) => {
            setStarter(Number(e.target.value));
            setForm((n) => n + 1);
          }}
        >
          {STARTERS.map((s, i) => (
            <option key={s.name} value={i}>
              {s.name}
            </option>
          ))}
        </select>
      </div>
      <div key={form}>
        <Field label="Subject" name="subject" defaultValue={text.subject} maxLength={200} required error={send.error} />
        <TextArea
          label="Message"
          name="body"
          defaultValue={text.body}
          rows={6}
          maxLength={5000}
          hint="Plain text. The mail adds a greeting, your business's name and an unsubscribe link."
          error={send.error}
        />
      </div>
      <ErrorBanner error={send.error} />
      <Button type="submit" busy={send.isPending} disabled={!count}>
        Send mailing
      </Button>
      {send.isSuccess && (
        <p className="ok" role="status">
          Sending to {send.data?.recipients} {send.data?.recipients === 1 ? "customer" : "customers"}.
        </p>
      )}
    </form>
  );
}

function Sent({ businessId }: { businessId: string }) {
  const list = useQuery({
    queryKey: ["mailings", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/mailings", { params: { path: { business_id: businessId } } })).data,
    // While any mail is on its way, watch it go out.
    refetchInterval: (q) => (q.state.data?.items.some((m) => m.pending > 0) ? 2000 : false),
  });
  if (!list.data?.items.length) return <ErrorBanner error={list.error} />;
  return (
    <>
      <h3>Sent mailings</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Subject</th>
            <th scope="col">Created</th>
            <th scope="col">Recipients</th>
            <th scope="col">Sent</th>
            <th scope="col">Not sent</th>
            <th scope="col">On the way</th>
          </tr>
        </thead>
        <tbody>
          {list.data.items.map((m) => (
            <tr key={m.id}>
              <th scope="row">{m.subject}</th>
              <td>{new Date(m.created_at).toLocaleString()}</td>
              <td>{m.recipients}</td>
              <td>{m.sent}</td>
              <td>{m.skipped}</td>
              <td>{m.pending}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">“Not sent”: the customer withdrew consent or closed their account before the mail left.</p>
    </>
  );
}
