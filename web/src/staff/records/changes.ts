// An audit event keeps the record before and after a change; people read
// the fields that differ.
export interface Change {
  field: string;
  before: string;
  after: string;
}

const IGNORED = new Set(["version", "updated_at"]);

function show(v: unknown): string {
  if (v === undefined || v === null) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function fields(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : v === undefined || v === null ? {} : { value: v };
}

/** The fields that differ between `before` and `after`, in a stable order (bookkeeping fields left out). */
export function changes(before: unknown, after: unknown): Change[] {
  const b = fields(before);
  const a = fields(after);
  const names = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  return names
    .filter((f) => !IGNORED.has(f) && show(b[f]) !== show(a[f]))
    .map((f) => ({ field: f, before: show(b[f]), after: show(a[f]) }));
}
