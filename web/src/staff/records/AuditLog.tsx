import { useInfiniteQuery } from "@tanstack/react-query";
import type { components } from "../../api/schema";
import { Button, ErrorBanner } from "../../shared/ui";
import { api } from "../context";
import { changes } from "./changes";

type Event = components["schemas"]["AuditEvent"];

/** Who changed what, when: newest first, a page at a time, each change with its fields before and after. */
export function AuditLog({ businessId }: { businessId: string }) {
  const log = useInfiniteQuery({
    queryKey: ["audit", businessId],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      (
        await api.GET("/v1/businesses/{business_id}/audit", {
          params: { path: { business_id: businessId }, query: pageParam ? { cursor: pageParam } : {} },
        })
      ).data,
    getNextPageParam: (last) => last?.next_cursor ?? undefined,
  });
  const events = log.data?.pages.flatMap((p) => p?.items ?? []) ?? [];
  return (
    <section aria-labelledby="audit">
      <h2 id="audit">Audit log</h2>
      <ErrorBanner error={log.error} />
      {log.isSuccess && events.length === 0 && <p>No changes yet.</p>}
      <ol className="log">
        {events.map((e) => (
          <Entry key={e.id} event={e} />
        ))}
      </ol>
      {log.hasNextPage && (
        <Button type="button" className="secondary" busy={log.isFetchingNextPage} onClick={() => void log.fetchNextPage()}>
          Older changes
        </Button>
      )}
    </section>
  );
}

function Entry({ event }: { event: Event }) {
  const diff = changes(event.before, event.after);
  return (
    <li>
      <div>
        <strong>{event.action}</strong> <span className="hint">by {event.actor_kind}</span>
      </div>
      <time dateTime={event.at} className="hint">
        {new Date(event.at).toLocaleString()}
      </time>
      {diff.length > 0 && (
        <details>
          <summary>{diff.length === 1 ? "1 field" : `${diff.length} fields`}</summary>
          <table>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Before</th>
                <th scope="col">After</th>
              </tr>
            </thead>
            <tbody>
              {diff.map((d) => (
                <tr key={d.field}>
                  <th scope="row">{d.field}</th>
                  <td>{d.before}</td>
                  <td>{d.after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </li>
  );
}
