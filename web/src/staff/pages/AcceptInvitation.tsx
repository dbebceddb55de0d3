import { type FormEvent, useState } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useAction } from "../../shared/hooks";
import { Button, ErrorBanner, Field, Page } from "../../shared/ui";
import { anonymous, session } from "../context";

/** An empty answer is no answer (an existing account sends neither). */
function text(value: FormDataEntryValue | null): string | null {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

/** Where the invitation email's link lands: `/staff/accept-invitation?token=…`. */
export function AcceptInvitation() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const token = params.get("token") ?? "";
  const [joined, setJoined] = useState(false);

  const { act, error, busy } = useAction(async (form: FormData) => {
    const { data } = await anonymous.POST("/v1/auth/staff/invitations/accept", {
      body: { token, name: text(form.get("name")), password: text(form.get("password")) },
    });
    if (data) {
      // With Cognito the new account is in the staff pool, and so are its tokens.
      session.store(data, Date.now(), "id_token" in (data as object) ? "cognito" : "local");
      navigate("/", { replace: true });
    } else {
      setJoined(true); // an existing account: the role is added, sign in as usual
    }
  });

  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    void act(new FormData(e.currentTarget));
  }

  if (!token) {
    return (
      <Page title="Accept an invitation">
        <p role="alert" className="error">
          This link has no invitation in it. Open the link from the invitation email again.
        </p>
      </Page>
    );
  }
  if (joined) {
    return (
      <Page title="Invitation accepted">
        <p className="ok">Your account now has the new role.</p>
        <Link to="/sign-in">Sign in</Link>
      </Page>
    );
  }
  return (
    <Page title="Accept an invitation">
      <p>Choose your name and a password. If this email already has an account, leave them empty.</p>
      <form onSubmit={submit} noValidate>
        <Field label="Your name" name="name" autoComplete="name" error={error} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={10}
          hint="At least 10 characters."
          error={error}
        />
        <ErrorBanner error={error} />
        <Button type="submit" busy={busy}>
          Accept
        </Button>
      </form>
    </Page>
  );
}
