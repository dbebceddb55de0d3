import { describe, expect, it } from "vitest";
import { changes } from "./changes";

describe("an audit event's changes", () => {
  it("lists the fields that differ, not the bookkeeping", () => {
    const before = { name: "Old Town", timezone: "Europe/Madrid", version: 1 };
    const after = { name: "Harbour Road", timezone: "Europe/Madrid", version: 2 };
    expect(changes(before, after)).toEqual([{ field: "name", before: "Old Town", after: "Harbour Road" }]);
  });
  it("shows a created record's fields against nothing", () => {
    expect(changes(null, { name: "Till 1" })).toEqual([{ field: "name", before: "—", after: "Till 1" }]);
  });
  it("shows nested values as JSON", () => {
    expect(changes({ scope: { kind: "business" } }, { scope: { kind: "store", store_id: "s" } })[0]?.after).toBe(
      '{"kind":"store","store_id":"s"}',
    );
  });
});
