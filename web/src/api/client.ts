// The typed API client: openapi-fetch over the types generated from the
// server's /openapi.json (src/api/schema.d.ts, `npm run api`; CI fails when
// they are stale). Staff calls carry the session's bearer token, refreshed
// silently; errors become ProblemError.
import createClient, { type Middleware } from "openapi-fetch";
import { ProblemError, problemOf } from "./problem";
import type { paths } from "./schema";
import { type Issuer, type PoolTokens, Session, type TokenPair } from "./session";

export type Client = ReturnType<typeof createClient<paths>>;

/** Turn every non-2xx answer into a thrown ProblemError. */
const problems: Middleware = {
  async onResponse({ response }) {
    if (!response.ok) throw await problemOf(response);
    return undefined;
  },
};

async function exchange(baseUrl: string, refresh_token: string, issuer: Issuer): Promise<TokenPair | PoolTokens | null> {
  const path = issuer === "cognito" ? "/v1/auth/cognito/staff/refresh" : "/v1/auth/token/refresh";
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token }),
  });
  if (response.status === 401 || response.status === 400) return null;
  if (!response.ok) throw await problemOf(response);
  return (await response.json()) as TokenPair | PoolTokens;
}

/** A client for a signed-in person: bearer token from `session`. */
export function sessionClient(session: Session, baseUrl = ""): Client {
  const client = createClient<paths>({ baseUrl });
  const bearer: Middleware = {
    async onRequest({ request }) {
      const token = await session.accessToken((t) => exchange(baseUrl, t, session.current()?.issuer ?? "local"));
      if (token) request.headers.set("authorization", `Bearer ${token}`);
      return request;
    },
  };
  client.use(bearer, problems);
  return client;
}

/** A client whose requests carry a fixed credential (a POS terminal key). */
export function keyClient(key: string, baseUrl = ""): Client {
  const client = createClient<paths>({ baseUrl });
  client.use(
    {
      onRequest({ request }) {
        request.headers.set("authorization", `Bearer ${key}`);
        return request;
      },
    },
    problems,
  );
  return client;
}

/** A client with no credential (sign-in, password reset, invitations). */
export function publicClient(baseUrl = ""): Client {
  const client = createClient<paths>({ baseUrl });
  client.use(problems);
  return client;
}

export { ProblemError, Session };
