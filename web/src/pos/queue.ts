// The POS write queue: what keeps a counter working through a network drop.
//
// A write gets its Idempotency-Key when the cashier taps, and is put in
// IndexedDB before it is sent. It stays there until the server answers
// definitively (a 2xx, or a 4xx that retrying cannot change), and is sent
// again with the same key, with back-off, after a network error, a 5xx, a
// 408, 409 or 429. The server applies a key once and answers a repeat with
// the first answer, so a reload, a crash or a lost response never applies a
// write twice, and nothing the cashier tapped is lost.
import { type DBSchema, type IDBPDatabase, openDB } from "idb";
import type { Problem } from "../api/problem";

export type WriteKind = "stamps" | "points" | "redemptions" | "cancel";

export interface PendingWrite {
  /** The Idempotency-Key, made when the cashier tapped. */
  key: string;
  kind: WriteKind;
  /** The API path, e.g. /v1/pos/stores/{id}/stamps. */
  path: string;
  body: Record<string, unknown>;
  created_at: number;
  attempts: number;
  /** Not sent again before this time (epoch ms). */
  next_at: number;
  state: "pending" | "done" | "failed";
  /** The server's answer once definitive. */
  result?: unknown;
  problem?: Problem;
}

/** What one try at sending a write came to. */
export type Outcome =
  | { kind: "done"; body: unknown }
  | { kind: "refused"; problem: Problem }
  | { kind: "retry"; after_ms?: number };

export type Send = (write: PendingWrite) => Promise<Outcome>;

interface QueueDb extends DBSchema {
  writes: { key: string; value: PendingWrite; indexes: { by_created: number } };
}

const BASE_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;

/** The wait before try `attempts + 1`: doubling from 1 s to 30 s, with jitter. */
export function backoff(attempts: number, random = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Which answers are definitive. */
export function classify(status: number, body: unknown, retryAfterSecs?: number): Outcome {
  if (status >= 200 && status < 300) return { kind: "done", body };
  const retryable = status >= 500 || status === 408 || status === 409 || status === 429;
  if (retryable) return { kind: "retry", after_ms: retryAfterSecs ? retryAfterSecs * 1000 : undefined };
  return { kind: "refused", problem: body as Problem };
}

export class WriteQueue {
  private flushing: Promise<void> | null = null;
  private listeners = new Set<() => void>();
  /** `created_at` only grows, so the index keeps the order tapped even within a millisecond. */
  private last = 0;

  private constructor(
    private readonly db: IDBPDatabase<QueueDb>,
    private readonly send: Send,
    private readonly now: () => number = Date.now,
  ) {}

  static async open(name: string, send: Send, now: () => number = Date.now): Promise<WriteQueue> {
    const db = await openDB<QueueDb>(name, 1, {
      upgrade(db) {
        db.createObjectStore("writes", { keyPath: "key" }).createIndex("by_created", "created_at");
      },
    });
    const queue = new WriteQueue(db, send, now);
    const newest = await db.transaction("writes").store.index("by_created").openCursor(null, "prev");
    queue.last = newest?.value.created_at ?? 0;
    return queue;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** Keep a write (stored before anything is sent) and try to send it. */
  async enqueue(kind: WriteKind, path: string, body: Record<string, unknown>): Promise<PendingWrite> {
    const write: PendingWrite = {
      key: crypto.randomUUID(),
      kind,
      path,
      body,
      created_at: (this.last = Math.max(this.now(), this.last + 1)),
      attempts: 0,
      next_at: 0,
      state: "pending",
    };
    await this.db.put("writes", write);
    this.changed();
    await this.flush();
    return (await this.db.get("writes", write.key)) ?? write;
  }

  /** Every write, oldest first. */
  async all(): Promise<PendingWrite[]> {
    return this.db.getAllFromIndex("writes", "by_created");
  }

  async pending(): Promise<PendingWrite[]> {
    return (await this.all()).filter((w) => w.state === "pending");
  }

  /** Forget answered writes older than `age_ms` (kept a while to show results). */
  async prune(age_ms: number): Promise<void> {
    const cutoff = this.now() - age_ms;
    for (const w of await this.all()) {
      if (w.state !== "pending" && w.created_at < cutoff) await this.db.delete("writes", w.key);
    }
  }

  /** Send every due write, in the order tapped; one pass at a time. */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.pass().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  /** Make every pending write due now: the app just started, or the network is back. */
  async retryNow(): Promise<void> {
    for (const w of await this.pending()) await this.db.put("writes", { ...w, next_at: 0 });
  }

  /** The earliest time a pending write is due, if any is pending. */
  async nextDue(): Promise<number | undefined> {
    const due = (await this.pending()).map((w) => w.next_at);
    return due.length ? Math.min(...due) : undefined;
  }

  private async pass(): Promise<void> {
    // In the order tapped, stopping at the first write that must wait: the
    // writes after it were tapped after it, and a card's rules (a daily cap,
    // a stamp's minimum interval) must see them in that order.
    for (const write of await this.pending()) {
      if (write.next_at > this.now()) break;
      let outcome: Outcome;
      try {
        outcome = await this.send(write);
      } catch {
        outcome = { kind: "retry" };
      }
      const attempts = write.attempts + 1;
      const next: PendingWrite =
        outcome.kind === "done"
          ? { ...write, attempts, state: "done", result: outcome.body }
          : outcome.kind === "refused"
            ? { ...write, attempts, state: "failed", problem: outcome.problem }
            : { ...write, attempts, next_at: this.now() + (outcome.after_ms ?? backoff(attempts)) };
      await this.db.put("writes", next);
      this.changed();
      if (outcome.kind === "retry") break;
    }
  }
}

/** A sender over fetch: the write's key as Idempotency-Key, `auth` as the bearer. */
export function fetchSender(auth: string, baseUrl = ""): Send {
  return async (write) => {
    const response = await fetch(`${baseUrl}${write.path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": write.key,
        authorization: `Bearer ${auth}`,
      },
      body: JSON.stringify(write.body),
    });
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const retryAfter = Number(response.headers.get("retry-after")) || undefined;
    return classify(response.status, body, retryAfter);
  };
}
