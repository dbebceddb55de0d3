import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { anonymous } from "../context";

/** Ask for a reset link; the answer is the same whether or not the address has an account. */
export function ForgotPassword() {
  const [sent, setSent] = useState(false);
  const { act, error, busy } = useAction(async (email: string) => {
    await anonymous.POST("/v1/auth/staff/password-reset", { body: { email } });
    setSent(true);
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void act(String(new FormData(e.currentTarget).get("email")));
  }
  return (
    <Page title="Reset your password">
      {sent ? (
        <p className="ok" role="status">
          If that address has an account here, a link to choose a new password is on its way. It works once, for 24
          hours.
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <Field label="Email" name="email" type="email" autoComplete="email" required error={error} />
          <ErrorBanner error={error} />
          <Button type="submit" busy={busy}>
            Send the link
          </Button>
        </form>
      )}
      <p>
        <Link to="/sign-in">Back to sign-in</Link>
      </p>
    </Page>
  );
}

/** Where the reset mail's link lands: `/staff/reset-password?token=…`. */
export function ResetPassword() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get("token") ?? "";
  const { act, error, busy } = useAction(async (password: string) => {
    await anonymous.POST("/v1/auth/staff/password-reset/confirm", { body: { token, password } });
    navigate("/sign-in?reset=1", { replace: true });
  });
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void act(String(new FormData(e.currentTarget).get("password")));
  }
  return (
    <Page title="Choose a new password">
      <form onSubmit={submit} noValidate>
        <Field
          label="New password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          hint="At least 10 characters. Every device signed in is signed out."
          required
          error={error}
        />
        <ErrorBanner error={error} />
        <Button type="submit" busy={busy}>
          Save password
        </Button>
      </form>
    </Page>
  );
}
