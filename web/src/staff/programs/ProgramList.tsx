import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { ErrorBanner } from "../../shared/ui";
import { api } from "../context";
import { NewProgram } from "./NewProgram";
import { describeRules } from "./describe";

/** A business's programs, each leading to its page (rules, history, rewards, campaigns), and a new one. */
export function ProgramList({ businessId, manage }: { businessId: string; manage: boolean }) {
  const list = useQuery({
    queryKey: ["programs", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/programs", { params: { path: { business_id: businessId } } })).data,
  });
  return (
    <section aria-labelledby="programs">
      <h2 id="programs">Programs</h2>
      <ErrorBanner error={list.error} />
      <ul className="cards">
        {list.data?.items.map((p) => (
          <li key={p.id}>
            <Link to={`/b/${businessId}/programs/${p.id}`}>
              <strong>{p.name}</strong>
            </Link>
            {!p.is_active && <span className="hint"> (paused)</span>}
            <div className="hint">{describeRules(p.rules)}</div>
          </li>
        ))}
      </ul>
      {manage && <NewProgram businessId={businessId} />}
    </section>
  );
}
