import { useQuery } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { Link } from "react-router";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { api } from "../context";

/** The businesses the signed-in staff member works for, and a new one. */
export function Businesses() {
  const list = useQuery({
    queryKey: ["businesses"],
    queryFn: async () => (await api.GET("/v1/businesses")).data,
  });
  const create = useCreate(["businesses"], async (name: string) => (await api.POST("/v1/businesses", { body: { name } })).data);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    create.mutate(String(new FormData(e.currentTarget).get("name")));
  }

  return (
    <Page title="Your businesses">
      <ErrorBanner error={list.error} />
      {list.isPending ? (
        <p>Loading…</p>
      ) : list.data?.items.length ? (
        <ul className="cards">
          {list.data.items.map((b) => (
            <li key={b.id}>
              <Link to={`/b/${b.id}`}>
                <strong>{b.name}</strong>
              </Link>
              <div className="hint">{b.is_active ? "Active" : "Deactivated"}</div>
            </li>
          ))}
        </ul>
      ) : (
        <p>No business yet. Create the first one below.</p>
      )}
      <h2>New business</h2>
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label="Name" name="name" required error={create.error} />
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Create business
        </Button>
      </form>
    </Page>
  );
}
