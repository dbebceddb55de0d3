import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { lastDays } from "../dashboard/series";

const STATUS: Record<string, string> = {
  pending: "Waiting",
  running: "Being made",
  done: "Ready",
  failed: "Failed",
};

/** Exports of the ledger or of the customers who agreed to hear from the business: ask, watch, download. */
export function Exports({ businessId }: { businessId: string }) {
  const path = { business_id: businessId };
  const key = ["exports", businessId];
  const list = useQuery({
    queryKey: key,
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/exports", { params: { path } })).data,
    // While one is being made, watch it finish.
    refetchInterval: (q) =>
      q.state.data?.items.some((e) => e.export.status === "pending" || e.export.status === "running") ? 2000 : false,
  });
  const [kind, setKind] = useState<"transactions" | "customers">("transactions");
  const create = useCreate(key, async (body: { kind: string; from?: string; to?: string }) =>
      (await api.POST("/v1/businesses/{business_id}/exports", { params: { path }, body })).data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate(
      kind === "transactions" ? { kind, from: String(f.get("from")), to: String(f.get("to")) } : { kind },
    );
  }
  const period = lastDays(30);
  return (
    <section aria-labelledby="exports">
      <h2 id="exports">Exports</h2>
      <form key={create.form} onSubmit={submit} className="filters">
        <div className="field">
          <label htmlFor="export-kind">What</label>
          <select id="export-kind" value={kind} onChange={(e) => setKind(e.target.value as typeof kind)}>
            <option value="transactions">Transactions (CSV)</option>
            <option value="customers">Customers who agreed to hear from you (CSV)</option>
          </select>
        </div>
        {kind === "transactions" && (
          <>
            <Field label="From" name="from" type="date" defaultValue={period.from} error={create.error} />
            <Field label="To" name="to" type="date" defaultValue={period.to} error={create.error} />
          </>
        )}
        <Button type="submit" busy={create.isPending}>
          Request export
        </Button>
      </form>
      <ErrorBanner error={create.error ?? list.error} />
      {list.data && list.data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Asked</th>
              <th scope="col">What</th>
              <th scope="col">Status</th>
              <th scope="col">Rows</th>
              <th scope="col">File</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map(({ export: e, download_url }) => (
              <tr key={e.id}>
                <td>{new Date(e.created_at).toLocaleString()}</td>
                <td>
                  {e.kind}
                  {e.from && e.to ? ` ${e.from} – ${e.to}` : ""}
                </td>
                <td>{STATUS[e.status] ?? e.status}</td>
                <td>{e.rows ?? ""}</td>
                <td>{download_url && <a href={download_url}>Download</a>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="hint">A download link works for 24 hours; ask again for a fresh one.</p>
    </section>
  );
}
