import { describe, expect, it } from "vitest";
import { daily, daysBetween, lastDays } from "./series";

const row = (day: string, stamps: number, redeemed = 0) => ({
  day,
  store_id: null,
  program_id: "p",
  stamps_issued: stamps,
  points_earned: 0,
  rewards_redeemed: redeemed,
  active_customers: 1,
  new_customers: 0,
});

describe("daily series", () => {
  it("has a point for every day of the period, quiet days at zero", () => {
    const d = daily([row("2026-03-03", 4)], "2026-03-01", "2026-03-04");
    expect(d.days).toEqual(["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]);
    expect(d.values.stamps_issued).toEqual([0, 0, 4, 0]);
  });

  it("adds up the stores and programs of one day", () => {
    const d = daily([row("2026-03-01", 2, 1), row("2026-03-01", 3, 1)], "2026-03-01", "2026-03-01");
    expect(d.values.stamps_issued).toEqual([5]);
    expect(d.values.rewards_redeemed).toEqual([2]);
    expect(d.values.active_customers).toEqual([2]);
  });

  it("ignores rows outside the period", () => {
    expect(daily([row("2026-02-28", 9)], "2026-03-01", "2026-03-01").values.stamps_issued).toEqual([0]);
  });

  it("crosses month and year ends", () => {
    expect(daysBetween("2026-12-31", "2027-01-01")).toEqual(["2026-12-31", "2027-01-01"]);
  });

  it("opens on the last thirty days, today included", () => {
    expect(lastDays(30, new Date("2026-03-30T15:00:00Z"))).toEqual({ from: "2026-03-01", to: "2026-03-30" });
  });
});
