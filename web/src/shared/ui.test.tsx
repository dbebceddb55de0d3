import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { ProblemError } from "../api/problem";
import { Button, ErrorBanner, Field } from "./ui";

afterEach(cleanup);

const invalid = new ProblemError({
  type: "https://stampede.dev/problems/validation_failed",
  title: "Validation failed",
  status: 422,
  code: "validation_failed",
  errors: [{ field: "email", message: "is not a valid email address" }],
});

describe("a field", () => {
  it("shows the server's message for its own field, and says it is invalid", () => {
    render(<Field label="Email" name="email" error={invalid} />);
    const input = screen.getByLabelText("Email");
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("is not a valid email address")).toBeTruthy();
  });

  it("shows its hint when the problem is another field's", () => {
    render(<Field label="Name" name="name" hint="As on the sign" error={invalid} />);
    expect(screen.getByLabelText("Name").getAttribute("aria-invalid")).toBeNull();
    expect(screen.getByText("As on the sign")).toBeTruthy();
  });
});

describe("the error banner", () => {
  it("puts a problem into words, as an alert", () => {
    render(<ErrorBanner error={invalid} />);
    expect(screen.getByRole("alert").textContent).toBe("Email is not a valid email address");
  });

  it("says a network failure in words", () => {
    render(<ErrorBanner error={new TypeError("Failed to fetch")} />);
    expect(screen.getByRole("alert").textContent).toMatch(/No connection to the server/);
  });

  it("is nothing without an error", () => {
    const { container } = render(<ErrorBanner error={null} />);
    expect(container.textContent).toBe("");
  });
});

describe("a button", () => {
  it("says it is working and takes no second tap while busy", () => {
    render(<Button busy>Save</Button>);
    const b = screen.getByRole("button");
    expect(b.textContent).toBe("Working…");
    expect((b as HTMLButtonElement).disabled).toBe(true);
  });
});
