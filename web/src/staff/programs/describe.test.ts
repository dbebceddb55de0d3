import { expect, it } from "vitest";
import { describeRules } from "./describe";

it("says what a program gives", () => {
  expect(describeRules({ kind: "stamps", stamps_per_reward: 10, max_stamps_per_visit: 1 })).toBe(
    "10 stamps for a reward, one a visit",
  );
  expect(
    describeRules({ kind: "points", currency: "EUR", points_per_unit: 1, unit_minor: 100, rounding: "half_up", expiry_days: 365 }),
  ).toBe("1 point per 1.00 EUR (rounded half up); points last 365 days");
});
