import { useQuery } from "@tanstack/react-query";
import { ErrorBanner } from "../../shared/ui";
import { api } from "../context";
import { describeRules } from "./describe";

/** Every version of the rules, newest first: what a transaction under each was given. */
export function History({ programId }: { programId: string }) {
  const versions = useQuery({
    queryKey: ["versions", programId],
    queryFn: async () =>
      (await api.GET("/v1/programs/{program_id}/versions", { params: { path: { program_id: programId } } })).data,
  });
  return (
    <section aria-labelledby="history">
      <h3 id="history">History of the rules</h3>
      <ErrorBanner error={versions.error} />
      <ol className="log">
        {versions.data?.items.map((v) => (
          <li key={v.version}>
            <strong>Version {v.version}</strong>{" "}
            <time className="hint" dateTime={v.created_at}>
              from {new Date(v.created_at).toLocaleString()}
            </time>
            <div>{describeRules(v.rules)}</div>
          </li>
        ))}
      </ol>
    </section>
  );
}
