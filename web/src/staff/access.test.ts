import { describe, expect, it } from "vitest";
import { access } from "./access";

const b = "b1";
const member = (role: "owner" | "admin" | "brand_manager" | "store_manager" | "cashier", scope: object) =>
  ({ business_id: b, role, scope }) as never;

describe("what a role opens in the console", () => {
  it("owners and admins: everything", () => {
    expect(access([member("admin", { kind: "business" })], b).tabs).toContain("audit");
  });
  it("a store manager: the setup and that store's figures", () => {
    const a = access([member("store_manager", { kind: "store", store_id: "s1" })], b);
    expect(a).toEqual({ tabs: ["setup", "dashboard"], storesOnly: ["s1"] });
  });
  it("a cashier: the setup only", () => {
    expect(access([member("cashier", { kind: "store", store_id: "s1" })], b).tabs).toEqual(["setup"]);
  });
  it("roles in another business count for nothing here", () => {
    const elsewhere = { business_id: "b2", role: "owner", scope: { kind: "business" } } as never;
    expect(access([elsewhere], b).tabs).toEqual(["setup"]);
  });
});
