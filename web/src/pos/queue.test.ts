import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { type Outcome, type PendingWrite, WriteQueue, backoff, classify } from "./queue";

let clock = 1_000_000;
const now = () => clock;

beforeEach(() => {
  // A fresh IndexedDB for each test: nothing carries over.
  globalThis.indexedDB = new IDBFactory();
  clock = 1_000_000;
});

/** A server that applies each key once and answers repeats with the first answer. */
function server() {
  const applied = new Map<string, unknown>();
  let down = false;
  const sent: string[] = [];
  const send = async (w: PendingWrite): Promise<Outcome> => {
    sent.push(w.key);
    if (down) throw new TypeError("Failed to fetch");
    if (!applied.has(w.key)) applied.set(w.key, { balance: applied.size + 1 });
    return { kind: "done", body: applied.get(w.key) };
  };
  return {
    send,
    applied,
    sent,
    setDown(d: boolean) {
      down = d;
    },
  };
}

describe("the POS write queue", () => {
  it("keeps a write through a network drop and applies it once when the network returns", async () => {
    const s = server();
    const q = await WriteQueue.open("q1", s.send, now);
    s.setDown(true);
    const w = await q.enqueue("stamps", "/v1/pos/stores/s/stamps", { card_code: "AB12", count: 1 });
    expect(w.state).toBe("pending");
    expect(w.attempts).toBe(1);
    expect(s.applied.size).toBe(0);

    s.setDown(false);
    await q.flush();
    expect((await q.pending()).length).toBe(1);
    expect(s.applied.size).toBe(0);

    clock += 60_000;
    await q.flush();
    const [done] = await q.all();
    expect(done?.state).toBe("done");
    expect(done?.result).toEqual({ balance: 1 });
    expect(s.applied.size).toBe(1);
  });

  it("survives a reload: a new queue over the same database sends what was pending, with the same key", async () => {
    const s = server();
    s.setDown(true);
    const first = await WriteQueue.open("q2", s.send, now);
    const w = await first.enqueue("stamps", "/p", { count: 1 });

    s.setDown(false);
    const reloaded = await WriteQueue.open("q2", s.send, now);
    await reloaded.flush();
    expect((await reloaded.pending()).length, "still backing off").toBe(1);
    await reloaded.retryNow(); // the app's start: try at once
    await reloaded.flush();
    expect((await reloaded.all()).map((x) => x.state)).toEqual(["done"]);
    expect(s.sent.every((k) => k === w.key)).toBe(true);
  });

  it("applies nothing twice when an answer is lost and the write is sent again", async () => {
    const applied = new Set<string>();
    let loseAnswer = true;
    const send = async (w: PendingWrite): Promise<Outcome> => {
      applied.add(w.key);
      if (loseAnswer) {
        loseAnswer = false;
        throw new TypeError("connection reset");
      }
      return { kind: "done", body: null };
    };
    const q = await WriteQueue.open("q3", send, now);
    for (let i = 0; i < 10; i++) await q.enqueue("stamps", "/p", { i });
    for (let round = 0; round < 5; round++) {
      clock += 60_000;
      await q.flush();
    }
    expect(applied.size).toBe(10);
    expect((await q.all()).every((w) => w.state === "done")).toBe(true);
  });

  it("keeps the order tapped: a write waiting for a retry holds back the ones after it", async () => {
    const order: number[] = [];
    let fail = true;
    const send = async (w: PendingWrite): Promise<Outcome> => {
      if (fail) {
        fail = false;
        return { kind: "retry", after_ms: 5_000 };
      }
      order.push(w.body.i as number);
      return { kind: "done", body: null };
    };
    const q = await WriteQueue.open("q4", send, now);
    await q.enqueue("stamps", "/p", { i: 1 });
    await q.enqueue("stamps", "/p", { i: 2 });
    expect(order).toEqual([]);
    clock += 5_000;
    await q.flush();
    expect(order).toEqual([1, 2]);
  });

  it("gives up on a definitive refusal and keeps the problem to show", async () => {
    const problem = { type: "urn:stampede:problem:refused", title: "Refused", status: 422, code: "daily_cap_reached" };
    const q = await WriteQueue.open("q5", async () => ({ kind: "refused", problem }), now);
    const w = await q.enqueue("stamps", "/p", {});
    expect(w.state).toBe("failed");
    expect(w.problem?.code).toBe("daily_cap_reached");
    expect(await q.pending()).toEqual([]);
  });
});

describe("answers", () => {
  it("are definitive for 2xx and plain 4xx, retried for 5xx, 408, 409 and 429", () => {
    expect(classify(201, { id: 1 }).kind).toBe("done");
    expect(classify(422, {}).kind).toBe("refused");
    expect(classify(404, {}).kind).toBe("refused");
    for (const s of [500, 503, 408, 409, 429]) expect(classify(s, {}).kind).toBe("retry");
    expect(classify(503, {}, 2)).toEqual({ kind: "retry", after_ms: 2000 });
  });

  it("back off doubling to a ceiling of 30 s", () => {
    const top = () => 1;
    expect(backoff(1, top)).toBe(1_000);
    expect(backoff(2, top)).toBe(2_000);
    expect(backoff(20, top)).toBe(30_000);
    expect(backoff(3, () => 0)).toBe(2_000);
  });
});
