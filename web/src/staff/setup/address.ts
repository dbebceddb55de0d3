// A store's postal address: free-form JSON in the API; the console keeps
// four lines of it, and leaves any other key a client wrote alone.
export interface Address {
  street: string;
  city: string;
  postcode: string;
  country: string;
}

const KEYS = ["street", "city", "postcode", "country"] as const;

export function readAddress(raw: unknown): Address {
  const o = raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const text = (k: string) => (typeof o[k] === "string" ? (o[k] as string) : "");
  return { street: text("street"), city: text("city"), postcode: text("postcode"), country: text("country") };
}

/** `raw` with the four lines from the form (empty ones removed). */
export function writeAddress(raw: unknown, f: FormData): Record<string, unknown> {
  const base = raw && typeof raw === "object" && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : {};
  for (const k of KEYS) {
    const v = String(f.get(k) ?? "").trim();
    if (v) base[k] = v;
    else delete base[k];
  }
  return base;
}

export function oneLine(raw: unknown): string {
  const a = readAddress(raw);
  return [a.street, [a.postcode, a.city].filter(Boolean).join(" "), a.country].filter(Boolean).join(", ");
}
