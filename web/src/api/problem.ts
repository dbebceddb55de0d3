// Every error the API answers is an RFC 9457 problem (application/problem+json)
// with a stable `code`. People see it in words: the field errors next to
// their fields, the rest as one sentence.
import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];

export class ProblemError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = "ProblemError";
    this.problem = problem;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }

  /** The message for one field, if the server named it. */
  field(name: string): string | undefined {
    return this.problem.errors?.find((e) => e.field === name)?.message;
  }
}

/** Words for the codes a person meets most; the server's detail otherwise. */
const SENTENCES: Record<string, string> = {
  unauthorized: "Your session has ended. Please sign in again.",
  rate_limited: "Too many attempts. Wait a moment and try again.",
  unavailable: "The service is briefly unavailable. Trying again in a moment usually works.",
  precondition_failed: "Someone changed this while you were editing. Reload to see their change.",
  not_found: "That no longer exists, or you cannot see it.",
  network: "No connection to the server. Check the network and try again.",
};

/** Codes whose sentence here says more to a person than the server's detail. */
const PREFERRED = new Set(["rate_limited", "unavailable", "precondition_failed", "network"]);

function sentence(detail: string | null | undefined): string | undefined {
  if (!detail) return undefined;
  const text = detail.charAt(0).toUpperCase() + detail.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

export function describe(error: unknown): string {
  if (error instanceof ProblemError) {
    const fields = error.problem.errors ?? [];
    if (fields.length > 0) {
      return fields.map((e) => `${humanize(e.field)} ${e.message}`).join(". ");
    }
    const ours = PREFERRED.has(error.code) ? SENTENCES[error.code] : undefined;
    return ours ?? sentence(error.problem.detail) ?? SENTENCES[error.code] ?? error.problem.title;
  }
  if (error instanceof TypeError) return SENTENCES.network!;
  return "Something went wrong. Please try again.";
}

function humanize(field: string): string {
  const words = field.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A problem from a response body, or a plain one made from the status. */
export async function problemOf(response: Response): Promise<ProblemError> {
  try {
    const body = (await response.clone().json()) as Partial<Problem>;
    if (body && typeof body.code === "string" && typeof body.title === "string") {
      return new ProblemError(body as Problem);
    }
  } catch {
    // not JSON: fall through
  }
  return new ProblemError({
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    code: response.status === 401 ? "unauthorized" : `http_${response.status}`,
  });
}
