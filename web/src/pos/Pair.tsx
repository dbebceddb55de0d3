import { type FormEvent, useEffect } from "react";
import { useNavigate } from "react-router";
import { keyClient } from "../api/client";
import { useAction } from "../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../shared/ui";
import { type Device, fromFragment, pair } from "./device";

/** Pair this device with a terminal: from the console's link, or typed in. */
export function Pair({ onPaired }: { onPaired: () => void }) {
  const navigate = useNavigate();
  const { act: connect, error, busy } = useAction(async (device: Device) => {
    await keyClient(device.key).GET("/v1/pos/stores/{store_id}/session", {
      params: { path: { store_id: device.store_id } },
    });
    pair(device);
    onPaired();
    // The key leaves the address bar (and the history) once kept.
    history.replaceState(null, "", location.pathname);
    navigate("/counter", { replace: true });
  });

  useEffect(() => {
    const device = fromFragment(location.hash);
    if (device) void connect(device);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    void connect({ store_id: String(form.get("store_id")).trim(), key: String(form.get("key")).trim() });
  }

  return (
    <Page title="Pair this device">
      <p>Open the pairing link or scan the QR code the console shows for a new terminal, or type its details here.</p>
      <form onSubmit={submit} noValidate>
        <Field label="Store id" name="store_id" required autoComplete="off" />
        <Field label="Terminal key" name="key" required autoComplete="off" hint="Starts with stp_" />
        <ErrorBanner error={error} />
        <Button type="submit" busy={busy} className="big">
          Pair
        </Button>
      </form>
    </Page>
  );
}
