import { expect, it } from "vitest";
import { oneLine, readAddress, writeAddress } from "./address";

it("reads what is there and keeps what the console does not edit", () => {
  const raw = { street: "Calle Mayor 1", city: "Madrid", floor: "2" };
  expect(readAddress(raw)).toEqual({ street: "Calle Mayor 1", city: "Madrid", postcode: "", country: "" });
  const f = new FormData();
  f.set("street", "Calle Mayor 2");
  f.set("city", "Madrid");
  f.set("postcode", " 28013 ");
  f.set("country", "");
  expect(writeAddress(raw, f)).toEqual({ street: "Calle Mayor 2", city: "Madrid", postcode: "28013", floor: "2" });
  expect(oneLine({ street: "Calle Mayor 2", city: "Madrid", postcode: "28013", country: "ES" })).toBe(
    "Calle Mayor 2, 28013 Madrid, ES",
  );
  expect(readAddress(null).street).toBe("");
});
