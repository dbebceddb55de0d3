import type { FormEvent } from "react";
import { useNavigate } from "react-router";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { api, session } from "../context";

/** Choose a new password: required after a one-time password, open at any time. */
export function ChangePassword() {
  const navigate = useNavigate();
  const forced = session.current()?.password_change_required ?? false;

  const { act, error, busy } = useAction(async (form: FormData) => {
    const { data } = await api.POST("/v1/auth/staff/password", {
      body: {
        current_password: String(form.get("current_password")),
        new_password: String(form.get("new_password")),
      },
    });
    if (data) session.store(data);
    navigate("/", { replace: true });
  });

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void act(new FormData(e.currentTarget));
  }

  return (
    <Page title={forced ? "Choose your own password" : "Change password"}>
      {forced && <p>You signed in with a one-time password. Choose one of your own to continue.</p>}
      <form onSubmit={submit} noValidate>
        <Field
          label="Current password"
          name="current_password"
          type="password"
          autoComplete="current-password"
          required
          error={error}
        />
        <Field
          label="New password"
          name="new_password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          hint="At least 10 characters."
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
