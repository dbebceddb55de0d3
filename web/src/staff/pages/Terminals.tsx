import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import QRCode from "qrcode";
import { type FormEvent, useEffect, useState } from "react";
import type { components } from "../../api/schema";
import { pairingLink } from "../../pos/device";
import { useCreate } from "../../shared/hooks";
import { Button, ErrorBanner, Field } from "../../shared/ui";
import { api } from "../context";

/** A store's terminals; a new one's key is shown once, with its pairing link and QR code. */
export function Terminals({ storeId, storeName }: { storeId: string; storeName: string }) {
  const key = ["terminals", storeId];
  const list = useQuery({
    queryKey: key,
    queryFn: async () =>
      (await api.GET("/v1/stores/{store_id}/terminals", { params: { path: { store_id: storeId } } })).data,
  });
  const [created, setCreated] = useState<{ name: string; link: string } | null>(null);
  const create = useCreate(
    key,
    async (name: string) =>
      (await api.POST("/v1/stores/{store_id}/terminals", { params: { path: { store_id: storeId } }, body: { name } }))
        .data,
    (data) => {
      if (data) setCreated({ name: data.terminal.name, link: pairingLink(location.origin, storeId, data.api_key) });
    },
  );

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    create.mutate(String(new FormData(e.currentTarget).get("name")));
  }

  const live = list.data?.filter((t) => !t.revoked_at) ?? [];
  return (
    <div>
      <h3>Terminals of {storeName}</h3>
      {live.length > 0 && (
        <ul>
          {live.map((t) => (
            <TerminalRow key={t.id} storeId={storeId} terminal={t} />
          ))}
        </ul>
      )}
      {created && <Pairing name={created.name} link={created.link} onDone={() => setCreated(null)} />}
      <form key={create.form} onSubmit={submit} noValidate>
        <Field label={`New terminal at ${storeName}`} name="name" placeholder="Till 1" required error={create.error} />
        <ErrorBanner error={create.error} />
        <Button type="submit" busy={create.isPending}>
          Create terminal
        </Button>
      </form>
    </div>
  );
}

type Terminal = components["schemas"]["TerminalView"];

/** One live terminal: its name and key's first characters; rename it, or revoke its key. */
function TerminalRow({ storeId, terminal: t }: { storeId: string; terminal: Terminal }) {
  const queries = useQueryClient();
  const path = { store_id: storeId, terminal_id: t.id };
  const refresh = () => queries.invalidateQueries({ queryKey: ["terminals", storeId] });
  const rename = useMutation({
    mutationFn: async (name: string) =>
      (await api.PATCH("/v1/stores/{store_id}/terminals/{terminal_id}", { params: { path }, body: { name } })).data,
    onSuccess: refresh,
  });
  const revoke = useMutation({
    mutationFn: async () => {
      await api.DELETE("/v1/stores/{store_id}/terminals/{terminal_id}", { params: { path } });
    },
    onSuccess: refresh,
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    rename.mutate(String(new FormData(e.currentTarget).get("name")));
  }
  return (
    <li>
      {t.name} <span className="hint">({t.key_prefix}…)</span>
      <details>
        <summary>Rename or revoke {t.name}</summary>
        <form onSubmit={submit} noValidate>
          <Field label={`New name for ${t.name}`} name="name" defaultValue={t.name} required error={rename.error} />
          <ErrorBanner error={rename.error} />
          <Button type="submit" busy={rename.isPending}>
            Rename
          </Button>
        </form>
        <p>
          <Button
            type="button"
            className="secondary"
            busy={revoke.isPending}
            onClick={() => confirm(`Revoke ${t.name}'s key? The device stops working at once.`) && revoke.mutate()}
          >
            Revoke key
          </Button>
        </p>
        <ErrorBanner error={revoke.error} />
      </details>
    </li>
  );
}

/** The pairing link and its QR code, shown once: the key is in them. */
function Pairing({ name, link, onDone }: { name: string; link: string; onDone: () => void }) {
  const [qr, setQr] = useState<string | null>(null);
  useEffect(() => {
    void QRCode.toDataURL(link, { margin: 1, width: 240 }).then(setQr);
  }, [link]);
  return (
    <div className="ok" role="status">
      <p>
        <strong>{name}</strong> is ready. Scan this code with the tablet, or open the link on it. It is shown only now.
      </p>
      {qr && <img src={qr} alt={`Pairing code for ${name}`} width={240} height={240} />}
      <p>
        <a href={link} data-testid="pairing-link">
          Pairing link for {name}
        </a>
      </p>
      <Button type="button" className="secondary" onClick={onDone}>
        Done
      </Button>
    </div>
  );
}
