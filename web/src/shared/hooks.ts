// The two shapes every form here takes: an action with its busy and error
// state (sign-in, password, pairing), and "create one, then re-read the list"
// (stores, programs, rewards, businesses), which also starts the form afresh.
import { type QueryKey, useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

export function useAction<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function act(...args: A) {
    setBusy(true);
    setError(null);
    try {
      await run(...args);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return { act, error, busy };
}

export function useCreate<B, R>(list: QueryKey, create: (body: B) => Promise<R>, created?: (result: R) => void) {
  const queries = useQueryClient();
  const [form, setForm] = useState(0);
  const mutation = useMutation({
    mutationFn: create,
    onSuccess: (result) => {
      setForm((n) => n + 1);
      created?.(result);
      return queries.invalidateQueries({ queryKey: list });
    },
  });
  /** A key for the form element: a new one after each creation empties it. */
  return { ...mutation, form };
}
