// Small shared components: a labelled field that shows its server error, a
// button that says when it is busy, and the error banner that puts a problem
// into words (see api/problem.ts).
import type { ButtonHTMLAttributes, InputHTMLAttributes, ReactNode, TextareaHTMLAttributes } from "react";
import { useId } from "react";
import { ProblemError, describe } from "../api/problem";

export function Field({
  label,
  error,
  hint,
  ...input
}: { label: string; error?: unknown; hint?: string } & InputHTMLAttributes<HTMLInputElement>) {
  const id = useId();
  const message = error instanceof ProblemError && input.name ? error.field(input.name) : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={message ? true : undefined} aria-describedby={`${id}-note`} {...input} />
      <small id={`${id}-note`} className={message ? "field-error" : "hint"}>
        {message ?? hint ?? ""}
      </small>
    </div>
  );
}

export function TextArea({
  label,
  error,
  hint,
  ...input
}: { label: string; error?: unknown; hint?: string } & TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  const message = error instanceof ProblemError && input.name ? error.field(input.name) : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} aria-invalid={message ? true : undefined} aria-describedby={`${id}-note`} {...input} />
      <small id={`${id}-note`} className={message ? "field-error" : "hint"}>
        {message ?? hint ?? ""}
      </small>
    </div>
  );
}

export function Button({ busy, children, ...rest }: { busy?: boolean } & ButtonHTMLAttributes<HTMLButtonElement>) {
  return (
    <button disabled={busy || rest.disabled} aria-busy={busy || undefined} {...rest}>
      {busy ? "Working…" : children}
    </button>
  );
}

/** The problem in words; nothing when there is none. */
export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {describe(error)}
    </p>
  );
}

export function Page({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main>
      <h1>{title}</h1>
      {children}
    </main>
  );
}
