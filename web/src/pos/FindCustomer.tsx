// For a customer without their code at hand: find their cards by email or
// phone, or start a card for a walk-in (they claim it from the mail it sends).
import { type FormEvent, useState } from "react";
import type { Client } from "../api/client";
import type { components } from "../api/schema";
import { useAction } from "../shared/hooks";
import { Button, ErrorBanner, Field } from "../shared/ui";
import { quantity } from "./quantity";

type Card = components["schemas"]["CardAtCounter"];
type Program = components["schemas"]["ProgramAtCounter"];

/** `email` if it looks like one, else `phone`. */
export function queryFor(text: string): { email: string } | { phone: string } {
  const t = text.trim();
  return t.includes("@") ? { email: t } : { phone: t };
}

export function FindCustomer({
  api,
  store,
  programs,
  onCard,
}: {
  api: Client;
  store: string;
  programs: Program[];
  onCard: (card: Card) => void;
}) {
  const [who, setWho] = useState("");
  const [found, setFound] = useState<Card[] | null>(null);
  const [open, setOpen] = useState(false);
  // A card chosen: the finder folds away for the next customer.
  function chosen(card: Card) {
    setFound(null);
    setWho("");
    setOpen(false);
    onCard(card);
  }
  const search = useAction(async (text: string) => {
    setFound(null);
    const { data } = await api.GET("/v1/pos/stores/{store_id}/customers", {
      params: { path: { store_id: store }, query: queryFor(text) },
    });
    const items = data?.items ?? [];
    setFound(items);
    if (items.length === 1) chosen(items[0]!);
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    void search.act(who);
  }
  return (
    <details className="find" open={open} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>No code? Find the customer by email or phone</summary>
      <form onSubmit={submit} className="actions">
        <Field label="Email or phone" name="who" value={who} onChange={(e) => setWho(e.target.value)} error={search.error} />
        <Button type="submit" className="big" busy={search.busy}>
          Search
        </Button>
      </form>
      <ErrorBanner error={search.error} />
      {found && found.length > 1 && (
        <ul>
          {found.map((c) => (
            <li key={c.card_id}>
              <button type="button" className="big secondary" onClick={() => chosen(c)}>
                {c.program.name}: {quantity(c.balance, c.program.kind)}
              </button>
            </li>
          ))}
        </ul>
      )}
      {found && found.length === 0 && (
        <Enroll api={api} store={store} programs={programs} who={who} onCard={chosen} />
      )}
    </details>
  );
}

function Enroll({
  api,
  store,
  programs,
  who,
  onCard,
}: {
  api: Client;
  store: string;
  programs: Program[];
  who: string;
  onCard: (card: Card) => void;
}) {
  const given = queryFor(who);
  const [program, setProgram] = useState(programs[0]?.id ?? "");
  const enroll = useAction(async (f: FormData) => {
    const phone = String(f.get("phone") ?? "").trim();
    const name = String(f.get("name") ?? "").trim();
    const { data } = await api.POST("/v1/pos/stores/{store_id}/enrollments", {
      params: { path: { store_id: store } },
      body: {
        program_id: program,
        email: String(f.get("email") ?? ""),
        ...(phone ? { phone } : {}),
        ...(name ? { name } : {}),
      },
    });
    if (data) onCard(data);
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void enroll.act(new FormData(e.currentTarget));
  }
  return (
    <form onSubmit={submit} noValidate aria-labelledby="enroll">
      <h3 id="enroll">No card here yet: start one</h3>
      <p className="hint">They get a mail to see the card in the app; their stamps count from now.</p>
      <div className="field">
        <label htmlFor="enroll-program">Program</label>
        <select id="enroll-program" value={program} onChange={(e) => setProgram(e.target.value)}>
          {programs.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <Field
        label="Their email"
        name="email"
        type="email"
        defaultValue={"email" in given ? given.email : ""}
        required
        error={enroll.error}
      />
      <Field label="Their phone (optional)" name="phone" defaultValue={"phone" in given ? given.phone : ""} error={enroll.error} />
      <Field label="Their name (optional)" name="name" error={enroll.error} />
      <ErrorBanner error={enroll.error} />
      <Button type="submit" className="big" busy={enroll.busy}>
        Start a card
      </Button>
    </form>
  );
}
