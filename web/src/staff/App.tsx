import { type ReactNode } from "react";
import { Link, Navigate, Route, Routes, useNavigate } from "react-router";
import { AcceptInvitation } from "./pages/AcceptInvitation";
import { Business } from "./pages/Business";
import { Businesses } from "./pages/Businesses";
import { ChangePassword } from "./pages/ChangePassword";
import { ForgotPassword, ResetPassword } from "./pages/ForgotPassword";
import { SignIn } from "./pages/SignIn";
import { anonymous, api, session, useSession } from "./context";

/** A page for a signed-in person; a forced password change comes first. */
function SignedIn({ children, allowPending = false }: { children: ReactNode; allowPending?: boolean }) {
  useSession();
  const s = session.current();
  if (!s) return <Navigate to="/sign-in" replace />;
  if (s.password_change_required && !allowPending) return <Navigate to="/change-password" replace />;
  return <>{children}</>;
}

function TopBar() {
  useSession();
  const navigate = useNavigate();
  const s = session.current();
  async function signOut() {
    const current = session.current();
    if (current?.issuer === "cognito") {
      // The pool signs the account out everywhere; it needs the access token.
      await api.POST("/v1/auth/cognito/staff/logout").catch(() => {});
      session.clear();
    } else {
      session.clear();
      if (current) {
        await anonymous.POST("/v1/auth/logout", { body: { refresh_token: current.refresh_token } }).catch(() => {});
      }
    }
    navigate("/sign-in", { replace: true });
  }
  return (
    <nav className="top" aria-label="Console">
      <Link to="/">Stampede</Link>
      <span className="grow" />
      {s && (
        <>
          <Link to="/change-password">Password</Link>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </>
      )}
    </nav>
  );
}

export function App() {
  return (
    <>
      <TopBar />
      <Routes>
        <Route path="/sign-in" element={<SignIn />} />
        <Route path="/accept-invitation" element={<AcceptInvitation />} />
        <Route path="/forgot-password" element={<ForgotPassword />} />
        <Route path="/reset-password" element={<ResetPassword />} />
        <Route
          path="/change-password"
          element={
            <SignedIn allowPending>
              <ChangePassword />
            </SignedIn>
          }
        />
        <Route
          path="/"
          element={
            <SignedIn>
              <Businesses />
            </SignedIn>
          }
        />
        <Route
          path="/b/:businessId/*"
          element={
            <SignedIn>
              <Business />
            </SignedIn>
          }
        />
        <Route path="*" element={<Navigate to="/" replace />} />
      </Routes>
    </>
  );
}
