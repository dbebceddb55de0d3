import { useEffect, useState } from "react";
import type { Device } from "./device";
import { type PendingWrite, WriteQueue, fetchSender } from "./queue";

/** The device's write queue, flushed when due, when the network returns, and on start. */
export function useQueue(device: Device): WriteQueue | null {
  const [queue, setQueue] = useState<WriteQueue | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let opened: WriteQueue | null = null;
    const schedule = async () => {
      if (stopped || !opened) return;
      await opened.flush();
      await opened.prune(24 * 3600_000);
      const due = await opened.nextDue();
      clearTimeout(timer);
      if (due !== undefined && !stopped) timer = setTimeout(schedule, Math.max(250, due - Date.now()));
    };
    const online = () => void opened?.retryNow().then(schedule);
    void WriteQueue.open(`stampede.pos.${device.store_id}`, fetchSender(device.key)).then((q) => {
      if (stopped) return;
      opened = q;
      q.subscribe(() => void schedule());
      setQueue(q);
      void q.retryNow().then(schedule);
    });
    window.addEventListener("online", online);
    return () => {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener("online", online);
    };
  }, [device.store_id, device.key]);
  return queue;
}

/** Every write of the queue, re-read when it changes. */
export function usePending(queue: WriteQueue | null): PendingWrite[] {
  const [writes, setWrites] = useState<PendingWrite[]>([]);
  useEffect(() => {
    if (!queue) return;
    const read = () => void queue.all().then(setWrites);
    read();
    return queue.subscribe(read);
  }, [queue]);
  return writes;
}
