import { useQuery } from "@tanstack/react-query";
import { api } from "../context";

/** The first steps of a new business, until it has a store and a program. */
export function GettingStarted({ businessId }: { businessId: string }) {
  const path = { business_id: businessId };
  const stores = useQuery({
    queryKey: ["stores", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/stores", { params: { path } })).data,
  });
  const programs = useQuery({
    queryKey: ["programs", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/programs", { params: { path } })).data,
  });
  if (!stores.data || !programs.data) return null;
  const hasStore = stores.data.items.length > 0;
  const hasProgram = programs.data.items.length > 0;
  if (hasStore && hasProgram) return null;
  return (
    <aside className="ok" aria-labelledby="first-steps">
      <h2 id="first-steps">First steps</h2>
      <ol>
        <li>{hasStore ? "✓ " : ""}Add a store below, with its time zone.</li>
        <li>Create a terminal at the store and open its pairing link (or scan its code) on the counter's tablet.</li>
        <li>{hasProgram ? "✓ " : ""}Create a program: a stamp card or points, and its rewards.</li>
      </ol>
    </aside>
  );
}
