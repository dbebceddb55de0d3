import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useMemo, useState } from "react";
import type { components } from "../../api/schema";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { Chart } from "./Chart";
import { daily, lastDays } from "./series";

interface Filter {
  from: string;
  to: string;
  store_id?: string;
  program_id?: string;
}

/** How the business is doing: totals, charts per day, the figures as a table, and CSV. */
export function Dashboard({ businessId, storesOnly = null }: { businessId: string; storesOnly?: string[] | null }) {
  // Those who see single stores' figures start on their first store.
  const [filter, setFilter] = useState<Filter>(() => ({
    ...lastDays(30),
    ...(storesOnly?.[0] ? { store_id: storesOnly[0] } : {}),
  }));
  // A brand manager sees the brand's stores one at a time: the first, until they pick.
  const stores = useQuery({
    queryKey: ["stores", businessId],
    enabled: storesOnly !== null && !filter.store_id,
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/stores", { params: { path: { business_id: businessId } } })).data,
  });
  const firstStore = stores.data?.items[0]?.id;
  useEffect(() => {
    if (storesOnly !== null && !filter.store_id && firstStore) setFilter((f) => ({ ...f, store_id: firstStore }));
  }, [storesOnly, filter.store_id, firstStore]);
  const report = useQuery({
    queryKey: ["analytics", businessId, filter],
    enabled: storesOnly === null || Boolean(filter.store_id),
    // The operation answers JSON or CSV; asked without `format`, JSON.
    queryFn: async () =>
      (
        await api.GET("/v1/businesses/{business_id}/analytics", {
          params: { path: { business_id: businessId }, query: filter },
        })
      ).data as components["schemas"]["AnalyticsReport"],
    // Open on a counter's screen, it keeps up with the day.
    refetchInterval: 15_000,
  });
  const download = useAction(async () => {
    const { data } = await api.GET("/v1/businesses/{business_id}/analytics", {
      params: { path: { business_id: businessId }, query: { ...filter, format: "csv" } },
      parseAs: "blob",
    });
    if (data) save(data as Blob, `analytics-${filter.from}-${filter.to}.csv`);
  });
  const series = useMemo(
    () => (report.data ? daily(report.data.days, report.data.from, report.data.to) : null),
    [report.data],
  );
  const activity = useMemo(
    () =>
      series && [
        { label: "Stamps", values: series.values.stamps_issued, colour: "#1f5fbf" },
        { label: "Redemptions", values: series.values.rewards_redeemed, colour: "#b3261e" },
      ],
    [series],
  );
  const customers = useMemo(
    () =>
      series && [
        { label: "Active", values: series.values.active_customers, colour: "#0d7a3a" },
        { label: "New", values: series.values.new_customers, colour: "#8a4baf" },
      ],
    [series],
  );
  const points = useMemo(
    () => series && [{ label: "Points", values: series.values.points_earned, colour: "#a15c00" }],
    [series],
  );
  const t = report.data?.totals;
  return (
    <section aria-labelledby="dashboard">
      <h2 id="dashboard">Dashboard</h2>
      <Filters key={filter.store_id ?? ""} businessId={businessId} filter={filter} onChange={setFilter} storesOnly={storesOnly} />
      <ErrorBanner error={report.error} />
      {t && (
        <dl className="totals">
          <Total label="Stamps issued" value={t.stamps_issued} />
          <Total label="Rewards redeemed" value={t.rewards_redeemed} />
          <Total label="Points earned" value={t.points_earned} />
          <Total label="New customers" value={t.new_customers} />
          <Total label="Active customer-days" value={t.active_customer_days} />
          <Total label="Redemption rate" value={`${(t.redemption_rate * 100).toFixed(1)}%`} />
        </dl>
      )}
      {series && activity && customers && points && (
        <>
          <Chart title="Stamps and redemptions per day" days={series.days} lines={activity} />
          <Chart title="Active and new customers per day" days={series.days} lines={customers} />
          {t && t.points_earned > 0 && <Chart title="Points earned per day" days={series.days} lines={points} />}
          <details>
            <summary>The figures by day</summary>
            <table>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Stamps</th>
                  <th scope="col">Points</th>
                  <th scope="col">Redemptions</th>
                  <th scope="col">Active</th>
                  <th scope="col">New</th>
                </tr>
              </thead>
              <tbody>
                {series.days.map((d, i) => (
                  <tr key={d}>
                    <th scope="row">{d}</th>
                    <td>{series.values.stamps_issued[i]}</td>
                    <td>{series.values.points_earned[i]}</td>
                    <td>{series.values.rewards_redeemed[i]}</td>
                    <td>{series.values.active_customers[i]}</td>
                    <td>{series.values.new_customers[i]}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
      <p>
        <Button type="button" className="secondary" busy={download.busy} onClick={() => download.act()}>
          Download CSV
        </Button>
      </p>
      <ErrorBanner error={download.error} />
      <p className="hint">Figures arrive moments after each sale; days are UTC.</p>
    </section>
  );
}

function Total({ label, value }: { label: string; value: number | string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </div>
  );
}

/** The period and, optionally, one store and one program. */
function Filters({
  businessId,
  filter,
  onChange,
  storesOnly,
}: {
  businessId: string;
  filter: Filter;
  onChange: (f: Filter) => void;
  storesOnly: string[] | null;
}) {
  const stores = useQuery({
    queryKey: ["stores", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/stores", { params: { path: { business_id: businessId } } })).data,
  });
  const programs = useQuery({
    queryKey: ["programs", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/programs", { params: { path: { business_id: businessId } } })).data,
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const store = String(f.get("store_id") ?? "");
    const program = String(f.get("program_id") ?? "");
    onChange({
      from: String(f.get("from")),
      to: String(f.get("to")),
      ...(store ? { store_id: store } : {}),
      ...(program ? { program_id: program } : {}),
    });
  }
  return (
    <form className="filters" onSubmit={submit}>
      <Field label="From" name="from" type="date" defaultValue={filter.from} required />
      <Field label="To" name="to" type="date" defaultValue={filter.to} required />
      <div className="field">
        <label htmlFor="dashboard-store">Store</label>
        <select id="dashboard-store" name="store_id" defaultValue={filter.store_id ?? ""}>
          {storesOnly === null && <option value="">All stores</option>}
          {stores.data?.items
            .filter((s) => storesOnly === null || storesOnly.length === 0 || storesOnly.includes(s.id))
            .map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="dashboard-program">Program</label>
        <select id="dashboard-program" name="program_id" defaultValue={filter.program_id ?? ""}>
          <option value="">All programs</option>
          {programs.data?.items.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      </div>
      <Button type="submit">Show</Button>
    </form>
  );
}

/** Hand a downloaded file to the browser. */
function save(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
