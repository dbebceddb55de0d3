import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Client } from "../api/client";
import { FindCustomer } from "./FindCustomer";

afterEach(cleanup);

const program = { id: "p1", name: "Coffee card", kind: "stamps", currency: null };
const card = { card_id: "c1", program, balance: 0, rewards: [], redeemable: [] };

/** A client answering the search with `found` and an enrollment with a new card. */
function client(found: unknown[]) {
  const GET = vi.fn().mockResolvedValue({ data: { items: found } });
  const POST = vi.fn().mockResolvedValue({ data: card });
  return { api: { GET, POST } as unknown as Client, GET, POST };
}

function search(text: string) {
  fireEvent.click(screen.getByText(/No code\? Find the customer/));
  fireEvent.change(screen.getByLabelText("Email or phone"), { target: { value: text } });
  fireEvent.click(screen.getByRole("button", { name: "Search" }));
}

describe("finding a customer at the counter", () => {
  it("asks by phone when no @ was typed, and opens the one card found", async () => {
    const { api, GET } = client([card]);
    const onCard = vi.fn();
    render(<FindCustomer api={api} store="s1" programs={[program]} onCard={onCard} />);
    search("+34 600 12 34 56");
    await waitFor(() => expect(onCard).toHaveBeenCalledWith(card));
    expect(GET.mock.calls[0]?.[1]).toEqual({
      params: { path: { store_id: "s1" }, query: { phone: "+34 600 12 34 56" } },
    });
  });

  it("offers to start a card when there is none, with the address filled in", async () => {
    const { api, POST } = client([]);
    const onCard = vi.fn();
    render(<FindCustomer api={api} store="s1" programs={[program]} onCard={onCard} />);
    search("mo@example.com");
    await screen.findByRole("heading", { name: "No card here yet: start one" });
    expect((screen.getByLabelText("Their email") as HTMLInputElement).value).toBe("mo@example.com");
    fireEvent.change(screen.getByLabelText("Their name (optional)"), { target: { value: "Mo" } });
    fireEvent.click(screen.getByRole("button", { name: "Start a card" }));
    await waitFor(() => expect(onCard).toHaveBeenCalledWith(card));
    expect(POST.mock.calls[0]?.[1]?.body).toEqual({ program_id: "p1", email: "mo@example.com", name: "Mo" });
  });

  it("lets the cashier choose when a phone number is shared", async () => {
    const other = { ...card, card_id: "c2", balance: 7 };
    const { api } = client([card, other]);
    const onCard = vi.fn();
    render(<FindCustomer api={api} store="s1" programs={[program]} onCard={onCard} />);
    search("600123456");
    fireEvent.click(await screen.findByRole("button", { name: "Coffee card: 7 stamps" }));
    expect(onCard).toHaveBeenCalledWith(other);
  });
});
