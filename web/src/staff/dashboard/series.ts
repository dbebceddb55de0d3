// A report's rows come one per day, store and program that saw activity;
// the dashboard shows one point per day of the period, zeros included, so a
// quiet day is a dip in the chart rather than a gap.
import type { components } from "../../api/schema";

type Row = components["schemas"]["DailyAggregate"];

export type Measure = "stamps_issued" | "points_earned" | "rewards_redeemed" | "active_customers" | "new_customers";

export interface Daily {
  /** Each day of the period, `YYYY-MM-DD`, in order. */
  days: string[];
  /** Per measure, the day's sum over stores and programs, aligned with `days`. */
  values: Record<Measure, number[]>;
}

const MEASURES: Measure[] = ["stamps_issued", "points_earned", "rewards_redeemed", "active_customers", "new_customers"];

/** Every day from `from` to `to` (inclusive, UTC dates). */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= end && out.length <= 366; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export function daily(rows: Row[], from: string, to: string): Daily {
  const days = daysBetween(from, to);
  const index = new Map(days.map((d, i) => [d, i]));
  const values = Object.fromEntries(MEASURES.map((m) => [m, days.map(() => 0)])) as Record<Measure, number[]>;
  for (const row of rows) {
    const i = index.get(row.day);
    if (i === undefined) continue;
    for (const m of MEASURES) values[m][i] = (values[m][i] ?? 0) + row[m];
  }
  return { days, values };
}

/** The period a dashboard opens on: the last `n` days, today included (UTC). */
export function lastDays(n: number, today = new Date()): { from: string; to: string } {
  const to = today.toISOString().slice(0, 10);
  const from = new Date(today.getTime() - (n - 1) * 86_400_000).toISOString().slice(0, 10);
  return { from, to };
}
