import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { keyClient } from "../api/client";
import { ProblemError, describe as inWords } from "../api/problem";
import type { components } from "../api/schema";
import { Button, ErrorBanner, Page } from "../shared/ui";
import type { Device } from "./device";
import { FindCustomer } from "./FindCustomer";
import { Scanner } from "./Scanner";
import { quantity } from "./quantity";
import type { PendingWrite } from "./queue";
import { usePending, useQueue } from "./useQueue";
import { wedge } from "./wedge";

type Card = components["schemas"]["CardAtCounter"];
type Committed = components["schemas"]["Committed"];

const LABELS: Record<PendingWrite["kind"], string> = {
  stamps: "Stamp",
  points: "Points",
  redemptions: "Redemption",
  cancel: "Cancellation",
};

function outcome(w: PendingWrite): string {
  if (w.state === "pending") return `waiting for the network (try ${w.attempts})`;
  if (w.state === "failed") return w.problem ? inWords(new ProblemError(w.problem)) : "refused";
  return `done, balance ${(w.result as Committed).transaction.balance_after}`;
}

/** The counter: find a card, then stamp, add points, redeem or cancel. */
export function Counter({ device, onUnpair }: { device: Device; onUnpair: () => void }) {
  const api = useMemo(() => keyClient(device.key), [device.key]);
  const queue = useQueue(device);
  const writes = usePending(queue);
  const [code, setCode] = useState("");
  const [card, setCard] = useState<Card | null>(null);
  // How the card on screen is read again after a write: its code, or its id
  // when it was found by email or phone.
  const [cardRef, setCardRef] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [amount, setAmount] = useState("");
  const input = useRef<HTMLInputElement>(null);
  const store = device.store_id;

  const session = useQuery({
    queryKey: ["pos-session", store],
    queryFn: async () => (await api.GET("/v1/pos/stores/{store_id}/session", { params: { path: { store_id: store } } })).data,
  });

  async function find(c: string) {
    setError(null);
    setCardRef(c.trim());
    try {
      const { data } = await api.GET("/v1/pos/stores/{store_id}/cards/{code}", {
        params: { path: { store_id: store, code: c.trim() } },
      });
      setCard(data ?? null);
    } catch (err) {
      setCard(null);
      setError(err);
    }
  }

  useEffect(() => {
    const listener = wedge((scanned) => {
      setCode(scanned);
      void find(scanned);
    });
    const onKey = (e: KeyboardEvent) => {
      if (document.activeElement !== input.current) listener(e);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store]);

  // Stable, so the camera is not restarted on every render.
  const scanned = useCallback((c: string) => {
    setCode(c);
    void find(c);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store]);

  function submit(e: FormEvent) {
    e.preventDefault();
    void find(code);
  }

  async function write(kind: "stamps" | "points" | "redemptions", body: Record<string, unknown>) {
    if (!card || !queue) return;
    const done = await queue.enqueue(kind, `/v1/pos/stores/${store}/${kind}`, { card_id: card.card_id, ...body });
    const answer = done.result as Committed | undefined;
    if (done.state === "done" && answer) {
      setCard({ ...card, balance: answer.transaction.balance_after });
      void find(cardRef); // what the new balance can redeem now
    }
  }

  async function cancel(w: PendingWrite) {
    const { transaction } = w.result as Committed;
    await queue?.enqueue("cancel", `/v1/pos/stores/${store}/transactions/${transaction.id}/cancel`, {});
  }

  const recent = writes.slice(-8).reverse();
  // The store's name is kept on the device, so the counter says where it
  // is also when it opens with the server out of reach.
  const nameKey = `stampede.pos.store-name.${store}`;
  const storeName = session.data?.store.name ?? localStorage.getItem(nameKey);
  useEffect(() => {
    if (session.data) localStorage.setItem(nameKey, session.data.store.name);
  }, [session.data, nameKey]);
  const offline = session.error instanceof TypeError;

  return (
    <Page title={storeName ?? "Counter"}>
      {session.data && session.data.programs.length > 0 && (
        <p className="hint">{session.data.programs.map((p) => p.name).join(" · ")}</p>
      )}
      {offline ? (
        <p role="status" className="pending">
          No connection to the server. Taps are kept on this device and go out when it answers.
        </p>
      ) : (
        <ErrorBanner error={session.error} />
      )}
      <form onSubmit={submit} className="actions">
        <label htmlFor="code" className="visually-hidden">
          Card code
        </label>
        <input
          id="code"
          ref={input}
          value={code}
          onChange={(e) => setCode(e.target.value)}
          placeholder="Scan or type the card code"
          autoComplete="off"
          autoCapitalize="characters"
          autoFocus
        />
        <Button type="submit" className="big">
          Find card
        </Button>
      </form>
      <Scanner onCode={scanned} />
      <ErrorBanner error={error} />
      <FindCustomer
        api={api}
        store={store}
        programs={session.data?.programs ?? []}
        onCard={(c) => {
          setError(null);
          setCard(c);
          setCardRef(c.card_id);
        }}
      />
      {card && (
        <section aria-label="Card">
          <h2>
            {card.program.name}: {quantity(card.balance, card.program.kind)}
          </h2>
          <div className="actions">
            {card.program.kind === "stamps" ? (
              <Button className="big" onClick={() => void write("stamps", { count: 1 })}>
                Add a stamp
              </Button>
            ) : (
              <>
                <input
                  aria-label="Purchase amount"
                  inputMode="decimal"
                  value={amount}
                  onChange={(e) => setAmount(e.target.value)}
                  placeholder="Amount"
                />
                <Button
                  className="big"
                  onClick={() =>
                    void write("points", {
                      amount_minor: Math.round(Number(amount) * 100),
                      currency: card.program.currency ?? "",
                    })
                  }
                >
                  Add points
                </Button>
              </>
            )}
            {card.redeemable.map((r) => (
              <Button key={r.id} className="big secondary" onClick={() => void write("redemptions", { reward_id: r.id })}>
                Redeem {r.name}
              </Button>
            ))}
          </div>
        </section>
      )}
      <h2>Recent</h2>
      <ul aria-live="polite">
        {recent.map((w) => (
          <li key={w.key} className={w.state === "pending" ? "pending" : undefined}>
            {LABELS[w.kind]}: {outcome(w)}
            {w.state === "done" && w.kind !== "cancel" && (
              <>
                {" "}
                <button type="button" className="secondary" onClick={() => void cancel(w)}>
                  Cancel
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
      <button type="button" className="secondary" onClick={onUnpair}>
        Unpair this device
      </button>
    </Page>
  );
}
