import { expect, it } from "vitest";
import { quantity } from "./quantity";

it("says one stamp, and many stamps", () => {
  expect(quantity(1, "stamps")).toBe("1 stamp");
  expect(quantity(0, "stamps")).toBe("0 stamps");
  expect(quantity(250, "points")).toBe("250 points");
  expect(quantity(1, "points")).toBe("1 point");
});
