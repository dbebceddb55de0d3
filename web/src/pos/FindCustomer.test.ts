import { describe, expect, it } from "vitest";
import { queryFor } from "./FindCustomer";

describe("what the cashier typed", () => {
  it("is an email when it has an @", () => {
    expect(queryFor(" mo@example.com ")).toEqual({ email: "mo@example.com" });
  });
  it("is a phone otherwise, in whatever layout (the server reads it)", () => {
    expect(queryFor("+34 600 12-34-56")).toEqual({ phone: "+34 600 12-34-56" });
  });
});
