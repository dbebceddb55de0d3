// What a purchase earns, computed as the server does (domain
// `scaled_points`: amount × rate × percent ÷ (unit × 100), rounded once), so
// the preview a business sees while setting the rules is the number the
// counter will give.
export type Rounding = "down" | "half_up" | "up";

export function scaledPoints(amountMinor: number, rate: number, unitMinor: number, pct: number, rounding: Rounding): number {
  if (!(amountMinor > 0)) return 0;
  const num = BigInt(Math.trunc(amountMinor)) * BigInt(rate) * BigInt(pct);
  const den = BigInt(Math.max(1, unitMinor)) * 100n;
  const q = rounding === "down" ? num / den : rounding === "up" ? (num + den - 1n) / den : (2n * num + den) / (2n * den);
  return Number(q);
}

/** "12.50" (in the currency's major unit) as minor units, or null when it is not an amount. */
export function minorUnits(text: string): number | null {
  const t = text.trim().replace(",", ".");
  if (!/^\d+(\.\d{1,2})?$/.test(t)) return null;
  const [whole, frac = ""] = t.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
}
