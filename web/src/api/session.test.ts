import { describe, expect, it, vi } from "vitest";
import { Session } from "./session";

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    getItem: (k) => m.get(k) ?? null,
    setItem: (k, v) => void m.set(k, v),
    removeItem: (k) => void m.delete(k),
    clear: () => m.clear(),
    key: () => null,
    get length() {
      return m.size;
    },
  };
}

const local = {
  access_token: "a1",
  refresh_token: "r1",
  token_type: "Bearer",
  expires_in: 900,
  password_change_required: true,
  mfa_setup_required: false,
};
const pool = { access_token: "p1", refresh_token: "pr1", id_token: "i1", token_type: "Bearer", expires_in: 3600 };

describe("a session", () => {
  it("keeps who issued its tokens, and the steps still pending", () => {
    const s = new Session("k", memory());
    expect(s.store(local, 0).issuer).toBe("local");
    expect(s.current()?.password_change_required).toBe(true);
    expect(s.store(pool, 0, "cognito")).toMatchObject({ issuer: "cognito", refresh_token: "pr1", password_change_required: false });
  });

  it("keeps the pool's refresh token when a refresh answers none", async () => {
    const s = new Session("k", memory());
    s.store(pool, 0, "cognito");
    const refresh = vi.fn().mockResolvedValue({ ...pool, access_token: "p2", refresh_token: null });
    expect(await s.accessToken(refresh, 3600_000)).toBe("p2");
    expect(refresh).toHaveBeenCalledWith("pr1");
    expect(s.current()).toMatchObject({ access_token: "p2", refresh_token: "pr1", issuer: "cognito" });
  });

  it("refreshes once for many callers, and ends when the refresh is refused", async () => {
    const s = new Session("k", memory());
    s.store(local, 0);
    let answer: (v: null) => void = () => {};
    const refresh = vi.fn(() => new Promise<null>((r) => (answer = r)));
    const both = Promise.all([s.accessToken(refresh, 900_000), s.accessToken(refresh, 900_000)]);
    answer(null);
    expect(await both).toEqual([null, null]);
    expect(refresh).toHaveBeenCalledTimes(1);
    expect(s.current()).toBeNull();
  });
});
