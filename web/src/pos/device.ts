// The pairing of this device with a terminal: the store it stands in and its
// key, kept in localStorage. The console's pairing link carries both in the
// URL's fragment (`/pos/pair#store=…&key=stp_…`), which browsers never send to
// a server, so the key does not reach any log.
export interface Device {
  store_id: string;
  key: string;
}

const KEY = "stampede.pos.device";

export function paired(storage: Storage = localStorage): Device | null {
  try {
    const d = JSON.parse(storage.getItem(KEY) ?? "null") as Device | null;
    return d && d.store_id && d.key ? d : null;
  } catch {
    return null;
  }
}

export function pair(device: Device, storage: Storage = localStorage): void {
  storage.setItem(KEY, JSON.stringify(device));
}

export function unpair(storage: Storage = localStorage): void {
  storage.removeItem(KEY);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The device a pairing link's fragment describes, if it is well formed. */
export function fromFragment(hash: string): Device | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const store_id = params.get("store") ?? "";
  const key = params.get("key") ?? "";
  return UUID.test(store_id) && key.startsWith("stp_") ? { store_id, key } : null;
}

/** The pairing link for a terminal, as the console shows it (and its QR code). */
export function pairingLink(origin: string, store_id: string, key: string): string {
  const fragment = new URLSearchParams({ store: store_id, key });
  return `${origin}/pos/pair#${fragment.toString()}`;
}
