// A signed-in session: the token pair, kept in localStorage under one key
// per app so the console and the POS app never share credentials. The access
// token is refreshed shortly before it expires, and once more when the API
// answers 401; refreshes from several tabs or calls at once share one request.
import type { components } from "./schema";

export type TokenPair = components["schemas"]["TokenPair"];
/** A pool's tokens (the Cognito shape): no refresh token after a refresh, no pending steps. */
export type PoolTokens = components["schemas"]["CognitoTokenPair"];

/** Who issued the tokens: this server, or the Cognito pool (refreshed and ended there). */
export type Issuer = "local" | "cognito";

export interface Stored {
  access_token: string;
  refresh_token: string;
  /** Epoch milliseconds at which the access token expires. */
  expires_at: number;
  password_change_required: boolean;
  mfa_setup_required: boolean;
  issuer?: Issuer;
}

export class Session {
  private refreshing: Promise<Stored | null> | null = null;
  private listeners = new Set<() => void>();

  constructor(
    private readonly key: string,
    private readonly storage: Storage = localStorage,
  ) {}

  current(): Stored | null {
    const raw = this.storage.getItem(this.key);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as Stored;
    } catch {
      return null;
    }
  }

  store(pair: TokenPair | PoolTokens, now = Date.now(), issuer: Issuer = this.current()?.issuer ?? "local"): Stored {
    const local = "password_change_required" in pair ? pair : null;
    const stored: Stored = {
      access_token: pair.access_token,
      // A pool's refresh answers no new refresh token: the one held stays good.
      refresh_token: pair.refresh_token ?? this.current()?.refresh_token ?? "",
      expires_at: now + pair.expires_in * 1000,
      password_change_required: local?.password_change_required ?? false,
      mfa_setup_required: local?.mfa_setup_required ?? false,
      issuer,
    };
    this.storage.setItem(this.key, JSON.stringify(stored));
    this.emit();
    return stored;
  }

  clear(): void {
    this.storage.removeItem(this.key);
    this.emit();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    for (const l of this.listeners) l();
  }

  /** The access token to send, refreshed first when it is about to expire. */
  async accessToken(
    refresh: (token: string) => Promise<TokenPair | PoolTokens | null>,
    now = Date.now(),
  ): Promise<string | null> {
    const s = this.current();
    if (!s) return null;
    if (s.expires_at - now > 30_000) return s.access_token;
    const renewed = await this.refresh(refresh);
    return renewed?.access_token ?? null;
  }

  /** Exchange the refresh token once, however many callers ask at the same time. */
  refresh(refresh: (token: string) => Promise<TokenPair | PoolTokens | null>): Promise<Stored | null> {
    if (this.refreshing) return this.refreshing;
    const s = this.current();
    if (!s) return Promise.resolve(null);
    this.refreshing = refresh(s.refresh_token)
      .then((pair) => {
        if (!pair) {
          this.clear();
          return null;
        }
        return this.store(pair);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }
}
