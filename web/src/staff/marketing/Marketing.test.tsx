import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";

// The console's client, answering as the server would for a business with
// one program whose members who agreed number 3, or 1 of them lately.
const api = vi.hoisted(() => ({
  GET: vi.fn(async (path: string, init: { params: { query?: Record<string, unknown> } }) => {
    if (path.endsWith("/programs")) return { data: { items: [{ id: "p1", name: "Coffee card" }] } };
    if (path.endsWith("/mailings/audience")) {
      return { data: { recipients: init.params.query?.active_within_days ? 1 : 3 } };
    }
    return { data: { items: [] } };
  }),
  POST: vi.fn(async () => ({ data: { recipients: 3 } })),
}));
vi.mock("../context", () => ({ api }));

import { Marketing } from "./Marketing";

afterEach(cleanup);

function show() {
  const queries = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={queries}>
      <Marketing businessId="b1" />
    </QueryClientProvider>,
  );
}

describe("composing a mailing", () => {
  it("says how many it reaches as the audience changes", async () => {
    show();
    await screen.findByText("3 customers will get this mail.");
    fireEvent.click(screen.getByLabelText("Only those who visited lately"));
    await screen.findByText("1 customer will get this mail.");
    const asked = api.GET.mock.calls.map((c) => c[1]?.params?.query).filter((q) => q && "program_id" in q);
    expect(asked.at(-1)).toEqual({ program_id: "p1", active_within_days: 30 });
  });

  it("sends the text a starting point gave, once confirmed", async () => {
    vi.stubGlobal("confirm", () => true);
    show();
    await screen.findByText("3 customers will get this mail.");
    fireEvent.change(screen.getByLabelText("Start from"), { target: { value: "1" } });
    fireEvent.click(screen.getByRole("button", { name: "Send mailing" }));
    await screen.findByText("Sending to 3 customers.");
    await waitFor(() => expect(api.POST).toHaveBeenCalled());
    const body = (api.POST.mock.calls[0] as unknown as [string, { body: Record<string, unknown> }])[1].body;
    expect(body).toMatchObject({ program_id: "p1", subject: "It's been a while" });
    vi.unstubAllGlobals();
  });
});
