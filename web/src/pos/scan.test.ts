import { describe, expect, it } from "vitest";
import { codeIn } from "./scan";

describe("the code in a scanned QR code", () => {
  it("is the text itself", () => {
    expect(codeIn(" 7K3M9Q2XW4R8T6VB\n")).toBe("7K3M9Q2XW4R8T6VB");
  });
  it("is a link's code parameter", () => {
    expect(codeIn("https://shop.example.com/c?code=7K3M9Q2XW4R8T6VB")).toBe("7K3M9Q2XW4R8T6VB");
    expect(codeIn("https://shop.example.com/c#code=7K3M9Q2XW4R8T6VB")).toBe("7K3M9Q2XW4R8T6VB");
  });
});
