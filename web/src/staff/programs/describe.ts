// A program's rules in a sentence, for lists and history.
import type { components } from "../../api/schema";

type Rules = components["schemas"]["ProgramRules"];

export function describeRules(r: Rules): string {
  if (r.kind === "stamps") {
    const most = r.max_stamps_per_visit > 1 ? `, up to ${r.max_stamps_per_visit} a visit` : ", one a visit";
    const expiry = r.expiry_days ? `; stamps last ${r.expiry_days} days` : "";
    return `${r.stamps_per_reward} stamps for a reward${most}${expiry}`;
  }
  const unit = (r.unit_minor / 100).toFixed(2);
  const expiry = r.expiry_days ? `; points last ${r.expiry_days} days` : "";
  return `${r.points_per_unit} ${r.points_per_unit === 1 ? "point" : "points"} per ${unit} ${r.currency} (rounded ${r.rounding.replace("_", " ")})${expiry}`;
}
