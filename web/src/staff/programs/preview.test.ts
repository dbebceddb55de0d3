import { describe, expect, it } from "vitest";
import { minorUnits, scaledPoints } from "./preview";

describe("points for a purchase, as the server counts them", () => {
  it("one point per whole euro, rounded down", () => {
    expect(scaledPoints(1250, 1, 100, 100, "down")).toBe(12);
  });
  it("rounds half up and up as asked", () => {
    expect(scaledPoints(1250, 1, 100, 100, "half_up")).toBe(13);
    expect(scaledPoints(1249, 1, 100, 100, "half_up")).toBe(12);
    expect(scaledPoints(1201, 1, 100, 100, "up")).toBe(13);
  });
  it("applies a campaign's percent before rounding, once", () => {
    expect(scaledPoints(1250, 1, 100, 200, "down")).toBe(25);
    expect(scaledPoints(999, 3, 500, 150, "down")).toBe(8);
  });
  it("gives nothing for nothing", () => {
    expect(scaledPoints(0, 5, 100, 100, "up")).toBe(0);
  });
});

describe("an amount typed in the major unit", () => {
  it("reads cents exactly", () => {
    expect(minorUnits("12.5")).toBe(1250);
    expect(minorUnits("12,05")).toBe(1205);
    expect(minorUnits("7")).toBe(700);
  });
  it("refuses what is not an amount", () => {
    expect(minorUnits("")).toBeNull();
    expect(minorUnits("1.234")).toBeNull();
    expect(minorUnits("-3")).toBeNull();
  });
});
