import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { ProblemError } from "../../api/problem";
import type { Issuer, PoolTokens, TokenPair } from "../../api/session";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { anonymous, session } from "../context";

export function SignIn() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [challenge, setChallenge] = useState<{ token: string; issuer: Issuer; email: string } | null>(null);

  const config = useQuery({
    queryKey: ["config"],
    queryFn: async () => (await anonymous.GET("/v1/config")).data,
  });

  function signedIn(pair: TokenPair | PoolTokens, issuer: Issuer) {
    const s = session.store(pair, Date.now(), issuer);
    navigate(s.password_change_required ? "/change-password" : "/", { replace: true });
  }

  const { act, error, busy } = useAction(async (form: FormData) => {
    if (challenge) {
      const code = String(form.get("code"));
      if (challenge.issuer === "cognito") {
        const { data } = await anonymous.POST("/v1/auth/cognito/staff/mfa/verify", {
          body: { email: challenge.email, mfa_token: challenge.token, code },
        });
        if (data) signedIn(data, "cognito");
      } else {
        const { data } = await anonymous.POST("/v1/auth/mfa/verify", { body: { mfa_token: challenge.token, code } });
        if (data) signedIn(data, "local");
      }
      return;
    }
    const body = { email: String(form.get("email")), password: String(form.get("password")) };
    // With Cognito, invited staff are in the staff pool; the first owner,
    // made at first start, stays with this server: the pool first, then here.
    if (config.data?.identity === "cognito") {
      try {
        const { data } = await anonymous.POST("/v1/auth/cognito/staff/login", { body });
        if (data && "mfa_token" in data) setChallenge({ token: data.mfa_token, issuer: "cognito", email: body.email });
        else if (data) signedIn(data, "cognito");
        return;
      } catch (err) {
        if (!(err instanceof ProblemError && err.status === 401)) throw err;
      }
    }
    const { data } = await anonymous.POST("/v1/auth/staff/login", { body });
    if (data && "mfa_token" in data) setChallenge({ token: data.mfa_token, issuer: "local", email: body.email });
    else if (data) signedIn(data, "local");
  });

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void act(new FormData(e.currentTarget));
  }

  return (
    <Page title="Sign in">
      {params.get("reset") && (
        <p className="ok" role="status">
          Your password is changed. Sign in with the new one.
        </p>
      )}
      <form onSubmit={submit} noValidate>
        {challenge ? (
          <Field
            label="Code from your authenticator app"
            name="code"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            error={error}
          />
        ) : (
          <>
            <Field label="Email" name="email" type="email" autoComplete="username" required error={error} />
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              error={error}
            />
          </>
        )}
        <ErrorBanner error={error} />
        <Button type="submit" busy={busy}>
          {challenge ? "Verify" : "Sign in"}
        </Button>
      </form>
      <p>
        <Link to="/forgot-password">Forgot your password?</Link>
      </p>
    </Page>
  );
}
