import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { FormEvent } from "react";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";
import { RolePicker, type RoleChoice, describeRole, roleFrom, usePlaces } from "./roles";

/** The team: who has which role, changing or removing it, inviting someone, and the invitations sent. */
export function Team({ businessId }: { businessId: string }) {
  const places = usePlaces(businessId);
  const path = { business_id: businessId };
  const staff = useQuery({
    queryKey: ["staff", businessId],
    queryFn: async () => (await api.GET("/v1/businesses/{business_id}/staff", { params: { path } })).data,
  });
  return (
    <section aria-labelledby="team">
      <h2 id="team">Team</h2>
      <ErrorBanner error={staff.error} />
      <ul className="cards">
        {staff.data?.items.map((m) => (
          <li key={m.id}>
            <strong>{m.name || m.email}</strong>
            <div className="hint">{m.email}</div>
            <ul>
              {m.memberships.map((r, i) => (
                <li key={i}>{describeRole(r, places)}</li>
              ))}
            </ul>
            <MemberActions businessId={businessId} staffId={m.id} who={m.name || m.email} />
          </li>
        ))}
      </ul>
      <Invite businessId={businessId} />
      <Invitations businessId={businessId} />
    </section>
  );
}

function MemberActions({ businessId, staffId, who }: { businessId: string; staffId: string; who: string }) {
  const queries = useQueryClient();
  const path = { business_id: businessId, staff_id: staffId };
  const refresh = () => queries.invalidateQueries({ queryKey: ["staff", businessId] });
  const change = useMutation({
    mutationFn: async (role: RoleChoice) =>
      (await api.PUT("/v1/businesses/{business_id}/staff/{staff_id}/role", { params: { path }, body: role })).data,
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: async () => {
      await api.DELETE("/v1/businesses/{business_id}/staff/{staff_id}", { params: { path } });
    },
    onSuccess: refresh,
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    change.mutate(roleFrom(new FormData(e.currentTarget)));
  }
  return (
    <details>
      <summary>Change or remove {who}</summary>
      <form onSubmit={submit}>
        <RolePicker businessId={businessId} label={`New role for ${who}`} />
        <ErrorBanner error={change.error} />
        <Button type="submit" busy={change.isPending}>
          Save role
        </Button>
      </form>
      <p>
        <Button
          type="button"
          className="secondary"
          busy={remove.isPending}
          onClick={() => confirm(`Remove ${who} from this business?`) && remove.mutate()}
        >
          Remove from the business
        </Button>
      </p>
      <ErrorBanner error={remove.error} />
    </details>
  );
}

function Invite({ businessId }: { businessId: string }) {
  const create = useCreate(
    ["invitations", businessId],
    async (body: RoleChoice & { email: string }) =>
      (
        await api.POST("/v1/businesses/{business_id}/invitations", {
          params: { path: { business_id: businessId } },
          body,
        })
      ).data,
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ email: String(f.get("email")), ...roleFrom(f) });
  }
  return (
    <form key={create.form} onSubmit={submit} noValidate aria-labelledby="invite">
      <h3 id="invite">Invite someone</h3>
      <Field label="Their email" name="email" type="email" required error={create.error} />
      <RolePicker businessId={businessId} label="Role" />
      <ErrorBanner error={create.error} />
      <Button type="submit" busy={create.isPending}>
        Send invitation
      </Button>
      {create.isSuccess && (
        <p className="ok" role="status">
          Invitation sent to {create.data?.email}.
        </p>
      )}
    </form>
  );
}

function Invitations({ businessId }: { businessId: string }) {
  const queries = useQueryClient();
  const places = usePlaces(businessId);
  const list = useQuery({
    queryKey: ["invitations", businessId],
    queryFn: async () =>
      (await api.GET("/v1/businesses/{business_id}/invitations", { params: { path: { business_id: businessId } } }))
        .data,
  });
  const revoke = useMutation({
    mutationFn: async (id: string) => {
      await api.DELETE("/v1/businesses/{business_id}/invitations/{invitation_id}", {
        params: { path: { business_id: businessId, invitation_id: id } },
      });
    },
    onSuccess: () => queries.invalidateQueries({ queryKey: ["invitations", businessId] }),
  });
  if (!list.data?.items.length) return <ErrorBanner error={list.error} />;
  return (
    <>
      <h3>Invitations</h3>
      <ErrorBanner error={list.error ?? revoke.error} />
      <table>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.data.items.map((i) => (
            <tr key={i.id}>
              <td>{i.email}</td>
              <td>{describeRole({ role: i.role, scope: i.scope as never }, places)}</td>
              <td>{i.status}</td>
              <td>
                {i.status === "pending" && (
                  <button type="button" className="secondary" onClick={() => revoke.mutate(i.id)}>
                    Revoke<span className="visually-hidden"> the invitation for {i.email}</span>
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
