import { describe, expect, it } from "vitest";
import { fromFragment, pair, paired, pairingLink, unpair } from "./device";

const store = "0190b6a4-7c1e-7f00-8000-000000000001";
const key = `stp_${"a".repeat(32)}_${"s".repeat(43)}`;

describe("pairing", () => {
  it("reads back the link the console makes", () => {
    const link = pairingLink("https://shop.example", store, key);
    expect(link.startsWith("https://shop.example/pos/pair#")).toBe(true);
    expect(fromFragment(new URL(link).hash)).toEqual({ store_id: store, key });
  });

  it("refuses a fragment that is not a store and a terminal key", () => {
    expect(fromFragment("#store=nope&key=" + key)).toBeNull();
    expect(fromFragment(`#store=${store}&key=secret`)).toBeNull();
    expect(fromFragment("")).toBeNull();
  });

  it("is kept on the device until unpaired", () => {
    pair({ store_id: store, key });
    expect(paired()).toEqual({ store_id: store, key });
    unpair();
    expect(paired()).toBeNull();
  });
});
