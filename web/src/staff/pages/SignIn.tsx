import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import type { TokenPair } from "../../api/session";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { anonymous, session } from "../context";

export function SignIn() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const [challenge, setChallenge] = useState<string | null>(null);

  function signedIn(pair: TokenPair) {
    const s = session.store(pair);
    navigate(s.password_change_required ? "/change-password" : "/", { replace: true });
  }

  const { act, error, busy } = useAction(async (form: FormData) => {
    if (challenge) {
      const { data } = await anonymous.POST("/v1/auth/mfa/verify", {
        body: { mfa_token: challenge, code: String(form.get("code")) },
      });
      if (data) signedIn(data);
      return;
    }
    const { data } = await anonymous.POST("/v1/auth/staff/login", {
      body: { email: String(form.get("email")), password: String(form.get("password")) },
    });
    if (data && "mfa_token" in data) setChallenge(data.mfa_token);
    else if (data) signedIn(data);
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
