// Journeys in a real browser (Debian's Chromium through playwright-core)
// against the real server on the embedded default, each from a fresh server.
// Run by `scripts/test` after the Rust suite; E2E_BIN names the binary.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { accessibilityProblems, browser, browserFilming, call, cognitoShape, page, startServer } from "./harness.mjs";

const SHOTS = process.env.E2E_SCREENSHOTS ?? "e2e/screenshots";
// A 1×1 PNG, for an upload.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);
mkdirSync(SHOTS, { recursive: true });
let chromium;
before(async () => {
  chromium = await browser();
});
after(async () => {
  await chromium?.close();
});

async function noSeriousAccessibilityProblems(p, where) {
  const problems = await accessibilityProblems(p);
  assert.deepEqual(problems, [], `${where}: ${JSON.stringify(problems)}`);
  assert.deepEqual(p.refused, [], `${where}: the Content-Security-Policy refused something`);
}

test("the first owner signs in, chooses a password and creates a business, on a phone", async () => {
  const server = await startServer();
  try {
    const p = await page(chromium, "phone");
    await p.goto(`${server.url}/staff/`);
    await p.getByRole("heading", { name: "Sign in" }).waitFor();
    await noSeriousAccessibilityProblems(p, "sign-in");
    await p.getByLabel("Email").fill(server.owner.email);
    await p.getByLabel("Password").fill("wrong password");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("alert").waitFor();
    assert.match(await p.getByRole("alert").innerText(), /invalid email or password/i);

    await p.getByLabel("Password").fill(server.owner.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Choose your own password" }).waitFor();
    await p.getByLabel("Current password").fill(server.owner.password);
    await p.getByLabel("New password").fill("short");
    await p.getByRole("button", { name: "Save password" }).click();
    await p.getByText(/at least 10|too short/i).first().waitFor();
    await p.getByLabel("New password").fill("a much better password");
    await p.getByRole("button", { name: "Save password" }).click();

    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    await p.getByLabel("Name").fill("Corner Café");
    await p.getByRole("button", { name: "Create business" }).click();
    await p.getByText("Corner Café").waitFor();
    await noSeriousAccessibilityProblems(p, "businesses");
    await p.screenshot({ path: `${SHOTS}/console-phone.png`, fullPage: true });

    // A reload keeps the session; signing out ends it.
    await p.reload();
    await p.getByText("Corner Café").waitFor();
    await p.getByRole("button", { name: "Sign out" }).click();
    await p.getByRole("heading", { name: "Sign in" }).waitFor();
  } finally {
    await server.dispose();
  }
});

/** The first owner, past the forced password change: their API token and business. */
async function ownerSignedIn(server) {
  const first = await call(server, "POST", "/v1/auth/staff/login", null, {
    email: server.owner.email,
    password: server.owner.password,
  });
  const owner = (
    await call(server, "POST", "/v1/auth/staff/password", first.body.access_token, {
      current_password: server.owner.password,
      new_password: "a much better password",
    })
  ).body.access_token;
  const business = (await call(server, "GET", "/v1/businesses", owner)).body.items[0].id;
  return { owner, business };
}

/** The console on `p`, signed in as the first owner (after `ownerSignedIn`), on their business. */
async function consoleAsOwner(p, server) {
  await p.goto(`${server.url}/staff/sign-in`);
  await p.getByLabel("Email").fill(server.owner.email);
  await p.getByLabel("Password").fill("a much better password");
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.locator("ul.cards a").first().click();
}

/** An owner with a store, a stamp program, a terminal key and a customer's card code. */
async function counterWorld(server) {
  const { owner, business } = await ownerSignedIn(server);
  const store = (
    await call(server, "POST", `/v1/businesses/${business}/stores`, owner, {
      name: "Main Street",
      timezone: "Europe/Madrid",
    })
  ).body.id;
  const rules = { kind: "stamps", stamps_per_reward: 10, max_stamps_per_visit: 1 };
  const program = (
    await call(server, "POST", `/v1/businesses/${business}/programs`, owner, { name: "Coffee card", rules })
  ).body.id;
  await call(server, "POST", `/v1/programs/${program}/rewards`, owner, { name: "Free coffee", cost: 10 });
  const key = (await call(server, "POST", `/v1/stores/${store}/terminals`, owner, { name: "Till 1" })).body.api_key;

  const email = "walk-in@example.com";
  await call(server, "POST", "/v1/auth/customers/register", null, { email, password: "the customer's password", name: "Mo" });
  const mail = await server.mail(/walk-in@example\.com/);
  const verify = /token=([A-Za-z0-9_-]+)/.exec(mail)[1];
  await call(server, "POST", "/v1/auth/customers/verify-email", null, { token: verify });
  const customer = (
    await call(server, "POST", "/v1/auth/customers/login", null, { email, password: "the customer's password" })
  ).body.access_token;
  const card = (await call(server, "POST", `/v1/programs/${program}/join`, customer, {})).body;
  const code = (await call(server, "GET", `/v1/me/cards/${card.id ?? card.card?.id}/code`, customer)).body.code;
  return { owner, business, program, store, key, code, customer };
}

test("the POS app, with the server stopped mid-way through ten stamps, ends with exactly ten", async () => {
  const server = await startServer();
  try {
    const world = await counterWorld(server);
    const p = await page(chromium, "tablet");
    const link = `${server.url}/pos/pair#store=${world.store}&key=${encodeURIComponent(world.key)}`;
    await p.goto(link);
    await p.getByRole("heading", { name: "Main Street" }).waitFor();
    assert.equal(new URL(p.url()).hash, "", "the key leaves the address bar");
    await noSeriousAccessibilityProblems(p, "counter");

    await p.getByLabel("Card code").fill(world.code);
    await p.getByRole("button", { name: "Find card" }).click();
    await p.getByRole("heading", { name: /Coffee card: 0 stamps/ }).waitFor();
    const stamp = p.getByRole("button", { name: "Add a stamp" });
    for (let i = 0; i < 4; i++) {
      await stamp.click();
      await p.getByRole("heading", { name: new RegExp(`Coffee card: ${i + 1} stamps?\\b`) }).waitFor();
    }
    // The app's service worker keeps the counter's page on the tablet.
    await p.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 15_000 });
    await server.stop();
    for (let i = 0; i < 6; i++) await stamp.click();
    await p.getByText(/waiting for the network/).first().waitFor();
    // The tablet reloads with the server out of reach: the counter opens from
    // the device, and the six writes are still there (in IndexedDB, with the
    // keys they were given when tapped).
    await p.reload();
    await p.getByRole("button", { name: "Find card" }).waitFor();
    await p.waitForFunction(() => (document.body.innerText.match(/waiting for the network/g) ?? []).length === 6);
    await p.getByText("No connection to the server").waitFor();
    await server.start();
    // The queue drains on its own once the server answers.
    await p.waitForFunction(() => !document.body.innerText.includes("waiting for the network"), null, {
      timeout: 60_000,
    });
    await p.screenshot({ path: `${SHOTS}/pos-tablet.png`, fullPage: true });
    const looked = await call(server, "GET", `/v1/pos/stores/${world.store}/cards/${world.code}`, world.key);
    assert.equal(looked.body.balance, 10, "exactly ten stamps: none lost, none twice");
    assert.equal(looked.body.redeemable.length, 1, "the reward is redeemable");
  } finally {
    await server.dispose();
  }
});

test("an owner sets up a store, a terminal and a stamp card in the console; the paired POS stamps and redeems", async () => {
  const server = await startServer();
  try {
    const p = await page(chromium, "tablet");
    await p.goto(`${server.url}/staff/sign-in`);
    await p.getByLabel("Email").fill(server.owner.email);
    await p.getByLabel("Password").fill(server.owner.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByLabel("Current password").fill(server.owner.password);
    await p.getByLabel("New password").fill("a much better password");
    await p.getByRole("button", { name: "Save password" }).click();
    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    await p.locator("ul.cards a").first().click();
    await p.getByRole("heading", { name: "First steps" }).waitFor();

    await p.getByLabel("Store name").fill("Harbour Road");
    await p.getByLabel("Time zone").fill("Europe/Madrid");
    await p.getByRole("button", { name: "Add store" }).click();
    // The store's address, a brand, and the business's logo.
    await p.getByText("Details of Harbour Road").click();
    await p.getByLabel("Street").fill("Calle del Puerto 4");
    await p.getByLabel("City").fill("Valencia");
    await p.getByRole("button", { name: "Save Harbour Road" }).click();
    await p.getByText("Calle del Puerto 4, Valencia · Europe/Madrid").waitFor();
    await p.getByLabel("Brand name").fill("Harbour Coffee");
    await p.getByRole("button", { name: "Add brand" }).click();
    await p.getByText("Rename Harbour Coffee").waitFor();
    await p.getByText("Business details and logo").click();
    await p.getByLabel("Logo (PNG, JPEG or WebP)").setInputFiles({ name: "logo.png", mimeType: "image/png", buffer: PNG });
    await p.getByRole("img", { name: "My Business logo" }).waitFor();
    await p.getByLabel("New terminal at Harbour Road").fill("Till 1");
    await p.getByRole("button", { name: "Create terminal" }).click();
    await p.getByRole("img", { name: "Pairing code for Till 1" }).waitFor();
    const link = await p.getByTestId("pairing-link").getAttribute("href");

    // A points program's preview computes as the counter will.
    await p.getByLabel("Points for what they spend").check();
    await p.getByText("a purchase of 12.50 EUR earns 12 points.").waitFor();
    await p.getByLabel("Try a purchase of").fill("7.99");
    await p.getByText("a purchase of 7.99 EUR earns 7 points.").waitFor();
    await p.getByLabel("Stamps, one a visit, toward a reward").check();
    await p.getByLabel("Program name").fill("Coffee card");
    await p.getByLabel("Stamps for a reward").fill("5");
    await p.getByText("after 5 visits").waitFor();
    await noSeriousAccessibilityProblems(p, "business");
    await p.screenshot({ path: `${SHOTS}/console-business.png`, fullPage: true });
    await p.getByRole("button", { name: "Create program" }).click();
    // The new program's page: its rewards, campaigns and history.
    await p.getByRole("heading", { name: "Coffee card" }).waitFor();
    await p.getByLabel("Reward name").fill("Free coffee");
    await p.getByLabel("Cost in stamps").fill("5");
    await p.getByRole("button", { name: "Add reward" }).click();
    await p.getByText("Free coffee", { exact: true }).waitFor();
    await p.getByText("Version 1", { exact: true }).waitFor();
    // A campaign: a bonus stamp for a week, then switched off again.
    await p.getByLabel("Campaign name").fill("Christmas week");
    await p.getByLabel("Starts (each store's local time)").fill("2026-12-21T08:00");
    await p.getByLabel("Ends").fill("2026-12-27T20:00");
    await p.getByRole("button", { name: "Add campaign" }).click();
    await p.getByRole("button", { name: "Switch Christmas week off" }).click();
    await p.getByText(/\+1 stamps a visit \(off\)/).waitFor();
    await noSeriousAccessibilityProblems(p, "program");
    await p.screenshot({ path: `${SHOTS}/console-program.png`, fullPage: true });

    const owner = (
      await call(server, "POST", "/v1/auth/staff/login", null, {
        email: server.owner.email,
        password: "a much better password",
      })
    ).body.access_token;
    const business = (await call(server, "GET", "/v1/businesses", owner)).body.items[0].id;
    const program = (await call(server, "GET", `/v1/businesses/${business}/programs`, owner)).body.items[0].id;
    const code = await customerCard(server, program);

    const pos = await page(chromium, "tablet");
    await pos.goto(link);
    await pos.getByRole("heading", { name: "Harbour Road" }).waitFor();
    await pos.getByLabel("Card code").fill(code);
    await pos.getByRole("button", { name: "Find card" }).click();
    for (let i = 1; i <= 5; i++) {
      await pos.getByRole("button", { name: "Add a stamp" }).click();
      await pos.getByRole("heading", { name: new RegExp(`Coffee card: ${i} stamps?\\b`) }).waitFor();
    }
    await pos.getByRole("button", { name: "Redeem Free coffee" }).click();
    await pos.getByRole("heading", { name: /Coffee card: 0 stamps/ }).waitFor();
    await pos.getByText("Redemption: done, balance 0").waitFor();

    // The console's dashboard: the figures arrive through the analytics
    // worker moments after each sale.
    await p.getByRole("link", { name: "Dashboard" }).click();
    await p.getByRole("heading", { name: "Dashboard" }).waitFor();
    await p.waitForFunction(
      () => {
        const total = (label) =>
          [...document.querySelectorAll("dl.totals > div")].find((d) => d.querySelector("dt")?.textContent === label)
            ?.querySelector("dd")?.textContent;
        return total("Stamps issued") === "5" && total("Rewards redeemed") === "1";
      },
      null,
      { timeout: 40_000 },
    );
    await p.getByRole("img", { name: /Stamps and redemptions per day.*Stamps 5, Redemptions 1/ }).waitFor();
    const download = p.waitForEvent("download");
    await p.getByRole("button", { name: "Download CSV" }).click();
    const csv = await (await download).path();
    const { readFileSync } = await import("node:fs");
    assert.match(readFileSync(csv, "utf8"), /stamps/i);
    await noSeriousAccessibilityProblems(p, "dashboard");
    await p.screenshot({ path: `${SHOTS}/console-dashboard.png`, fullPage: true });
  } finally {
    await server.dispose();
  }
});

/** A verified customer's card in `program`: its counter code. */
async function customerCard(server, program) {
  const email = "regular@example.com";
  await call(server, "POST", "/v1/auth/customers/register", null, { email, password: "the customer's password", name: "Ri" });
  const mail = await server.mail(/regular@example\.com/);
  await call(server, "POST", "/v1/auth/customers/verify-email", null, { token: /token=([A-Za-z0-9_-]+)/.exec(mail)[1] });
  const customer = (
    await call(server, "POST", "/v1/auth/customers/login", null, { email, password: "the customer's password" })
  ).body.access_token;
  const card = (await call(server, "POST", `/v1/programs/${program}/join`, customer, {})).body;
  return (await call(server, "GET", `/v1/me/cards/${card.id ?? card.card?.id}/code`, customer)).body.code;
}

test("an owner invites a cashier from the console; the cashier accepts the emailed link and signs in", async () => {
  const server = await startServer();
  try {
    await counterWorld(server);
    const p = await page(chromium, "phone");
    await consoleAsOwner(p, server);
    await p.getByRole("link", { name: "Team" }).click();
    const invite = p.getByRole("form", { name: "Invite someone" });
    await invite.getByLabel("Their email").fill("new.cashier@example.com");
    await invite.getByLabel("Role", { exact: true }).selectOption("cashier");
    await invite.getByLabel("At store").selectOption({ label: "Main Street" });
    await invite.getByRole("button", { name: "Send invitation" }).click();
    await p.getByRole("status").filter({ hasText: "Invitation sent to new.cashier@example.com" }).waitFor();
    await p.getByRole("cell", { name: "pending" }).waitFor();
    await noSeriousAccessibilityProblems(p, "team");
    await p.screenshot({ path: `${SHOTS}/console-team.png`, fullPage: true });

    const mail = await server.mail(/new\.cashier@example\.com/);
    const link = /(http\S+\/staff\/accept-invitation\?token=[A-Za-z0-9_-]+)/.exec(mail)?.[1];
    assert.ok(link, `the invitation mail links to the console: ${mail}`);
    const cashier = await page(chromium, "tablet");
    await cashier.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await cashier.getByRole("heading", { name: "Accept an invitation" }).waitFor();
    await noSeriousAccessibilityProblems(cashier, "accept invitation");
    await cashier.getByLabel("Your name").fill("Cam");
    await cashier.getByLabel("Password").fill("the cashier's own password");
    await cashier.getByRole("button", { name: "Accept" }).click();
    await cashier.getByRole("heading", { name: "Your businesses" }).waitFor();
    await cashier.getByRole("button", { name: "Sign out" }).click();

    await cashier.getByLabel("Email").fill("new.cashier@example.com");
    await cashier.getByLabel("Password").fill("the cashier's own password");
    await cashier.getByRole("button", { name: "Sign in" }).click();
    await cashier.getByRole("heading", { name: "Your businesses" }).waitFor();
    // A cashier reads the setup; the owners' pages and forms are not offered.
    await cashier.locator("ul.cards a").first().click();
    await cashier.getByRole("heading", { name: "Stores" }).waitFor();
    await cashier.getByText("Main Street").first().waitFor();
    assert.equal(await cashier.getByRole("link", { name: "Dashboard" }).count(), 0);
    assert.equal(await cashier.getByRole("button", { name: "Add store" }).count(), 0);
    assert.equal(await cashier.getByRole("alert").count(), 0, "no page answered 'not found'");
    await noSeriousAccessibilityProblems(cashier, "a cashier's setup");

    await p.reload();
    // The team now lists the cashier with the role the invitation gave.
    const member = p.locator("ul.cards > li").filter({ hasText: "new.cashier@example.com" });
    await member.getByText("Cashier at Main Street", { exact: true }).waitFor();
    await member.getByText("Cam", { exact: true }).waitFor();
    await p.getByRole("cell", { name: "accepted" }).waitFor();
  } finally {
    await server.dispose();
  }
});

test("a marketing mailing from the console reaches only the customers who agreed, and its link unsubscribes", async () => {
  const server = await startServer();
  try {
    const world = await counterWorld(server);
    // walk-in@example.com agrees to hear from the business; quiet@example.com holds a card and does not.
    await call(server, "PUT", `/v1/me/consents/${world.business}`, world.customer, { marketing: true });
    await call(server, "POST", "/v1/auth/customers/register", null, {
      email: "quiet@example.com",
      password: "the customer's password",
      name: "Qi",
    });
    const verify = /token=([A-Za-z0-9_-]+)/.exec(await server.mail(/quiet@example\.com/))[1];
    await call(server, "POST", "/v1/auth/customers/verify-email", null, { token: verify });
    const quiet = (
      await call(server, "POST", "/v1/auth/customers/login", null, {
        email: "quiet@example.com",
        password: "the customer's password",
      })
    ).body.access_token;
    await call(server, "POST", `/v1/programs/${world.program}/join`, quiet, {});

    const p = await page(chromium, "tablet");
    p.on("dialog", (d) => d.accept());
    await consoleAsOwner(p, server);
    await p.getByRole("link", { name: "Marketing" }).click();
    await p.getByText("1 customer will get this mail.").waitFor();
    await p.getByLabel("Only those who have not visited lately").check();
    await p.getByText("0 customers will get this mail.").waitFor();
    await p.getByLabel("Everyone who agreed").check();
    await p.getByText("1 customer will get this mail.").waitFor();
    await p.getByLabel("Start from").selectOption({ label: "Double stamps" });
    await p.getByLabel("Subject").fill("Double stamps this weekend at Main Street");
    await noSeriousAccessibilityProblems(p, "marketing");
    await p.getByRole("button", { name: "Send mailing" }).click();
    await p.getByText("Sending to 1 customer.").waitFor();
    const row = p.getByRole("row", { name: /Double stamps this weekend at Main Street/ });
    await p.waitForFunction(
      () => {
        const cells = [...document.querySelectorAll("tbody tr")][0]?.querySelectorAll("td");
        return cells && cells[2]?.textContent === "1" && cells[4]?.textContent === "0";
      },
      null,
      { timeout: 20_000 },
    );
    await row.waitFor();
    await p.screenshot({ path: `${SHOTS}/console-marketing.png`, fullPage: true });

    // The audit log says who sent it; an export of the customers who agreed lists one.
    await p.getByRole("link", { name: "Audit log" }).click();
    await p.getByText("mailing.create").waitFor();
    await noSeriousAccessibilityProblems(p, "audit log");
    await p.getByRole("link", { name: "Exports" }).click();
    await p.getByLabel("What").selectOption("customers");
    await p.getByRole("button", { name: "Request export" }).click();
    await p.getByRole("cell", { name: "Ready" }).waitFor({ timeout: 20_000 });
    await noSeriousAccessibilityProblems(p, "exports");
    const file = await p.getByRole("link", { name: "Download" }).getAttribute("href");
    const csv = await (await fetch(file.replace(/^https?:\/\/[^/]+/, server.url))).text();
    assert.match(csv, /walk-in@example\.com/);
    assert.doesNotMatch(csv, /quiet@example\.com/);

    const mail = await server.mail(/Double stamps this weekend at Main Street/);
    assert.match(mail, /Every visit this Saturday and Sunday earns two stamps/);
    const sent = server.mails().filter((m) => m.headers.includes("Double stamps this weekend at Main Street"));
    assert.equal(sent.length, 1, "one mail went out");
    assert.match(sent[0].headers, /^To: .*walk-in@example\.com/m, "to the customer who agreed");

    // The unsubscribe link: a page with one button, which withdraws consent.
    const link = /(http\S+\/v1\/unsubscribe\?token=[A-Za-z0-9._-]+)/.exec(mail)?.[1];
    assert.ok(link, "the mail carries its unsubscribe link");
    const u = await page(chromium, "phone");
    await u.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await u.getByRole("button").click();
    await u.waitForLoadState();
    const consents = (await call(server, "GET", "/v1/me/consents", world.customer)).body;
    const here = (consents.items ?? consents).find((c) => c.business_id === world.business);
    assert.equal(here.marketing, false, "the link withdrew consent");
  } finally {
    await server.dispose();
  }
});

test("at the counter, a customer without their code is found by email, and a walk-in gets a card on the spot", async () => {
  const server = await startServer();
  try {
    const world = await counterWorld(server);
    const p = await page(chromium, "phone");
    await p.goto(`${server.url}/pos/pair#store=${world.store}&key=${encodeURIComponent(world.key)}`);
    await p.getByRole("heading", { name: "Main Street" }).waitFor();
    await p.getByText("Coffee card", { exact: true }).waitFor();

    await p.getByText("No code? Find the customer by email or phone").click();
    await p.getByLabel("Email or phone").fill("walk-in@example.com");
    await p.getByRole("button", { name: "Search" }).click();
    await p.getByRole("heading", { name: /Coffee card: 0 stamps/ }).waitFor();
    await p.getByRole("button", { name: "Add a stamp" }).click();
    await p.getByRole("heading", { name: /Coffee card: 1 stamp\b/ }).waitFor();

    // The finder folded away once the card was found; the next customer opens it again.
    await p.getByText("No code? Find the customer by email or phone").click();
    await p.getByLabel("Email or phone").fill("first.visit@example.com");
    await p.getByRole("button", { name: "Search" }).click();
    await p.getByRole("heading", { name: "No card here yet: start one" }).waitFor();
    assert.equal(await p.getByLabel("Their email").inputValue(), "first.visit@example.com");
    await p.getByLabel("Their name (optional)").fill("Fia");
    await noSeriousAccessibilityProblems(p, "enroll");
    await p.getByRole("button", { name: "Start a card" }).click();
    await p.getByRole("heading", { name: /Coffee card: 0 stamps/ }).waitFor();
    await p.getByRole("button", { name: "Add a stamp" }).click();
    await p.getByRole("heading", { name: /Coffee card: 1 stamp\b/ }).waitFor();
    await p.screenshot({ path: `${SHOTS}/pos-phone-enroll.png`, fullPage: true });

    const mail = await server.mail(/first\.visit@example\.com/);
    assert.match(mail, /Hello Fia/);
    assert.match(mail, /\/reset-password\?token=/, "the mail carries the link to claim the card");
  } finally {
    await server.dispose();
  }
});

test("the POS app reads the customer's QR code with the tablet's camera", async () => {
  const server = await startServer();
  let filming;
  try {
    const world = await counterWorld(server);
    filming = await browserFilming(world.code, join(server.dataDir, "qr.y4m"));
    const p = await page(filming, "tablet");
    await p.goto(`${server.url}/pos/pair#store=${world.store}&key=${encodeURIComponent(world.key)}`);
    await p.getByRole("heading", { name: "Main Street" }).waitFor();
    await p.getByRole("button", { name: "Scan with camera" }).click();
    await p.getByRole("heading", { name: /Coffee card: 0 stamps/ }).waitFor({ timeout: 20_000 });
    assert.equal(await p.getByLabel("Card code").inputValue(), world.code);
    // The camera is off again once the code is read.
    await p.getByRole("button", { name: "Scan with camera" }).waitFor();
    await p.getByRole("button", { name: "Add a stamp" }).click();
    await p.getByRole("heading", { name: /Coffee card: 1 stamp\b/ }).waitFor();
  } finally {
    await filming?.close();
    await server.dispose();
  }
});

test("an owner who forgot the password resets it from the emailed link", async () => {
  const server = await startServer();
  try {
    const p = await page(chromium, "phone");
    await p.goto(`${server.url}/staff/sign-in`);
    await p.getByRole("link", { name: "Forgot your password?" }).click();
    await p.getByLabel("Email").fill(server.owner.email);
    await p.getByRole("button", { name: "Send the link" }).click();
    await p.getByText(/a link to choose a new password is on its way/).waitFor();
    await noSeriousAccessibilityProblems(p, "forgot password");
    const mail = await server.mail(/Reset your Stampede password/);
    const link = /(http\S+\/staff\/reset-password\?token=[A-Za-z0-9_-]+)/.exec(mail)?.[1];
    assert.ok(link, `the mail links to the console: ${mail}`);
    await p.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await p.getByLabel("New password").fill("short");
    await p.getByRole("button", { name: "Save password" }).click();
    await p.getByText(/at least 10/i).first().waitFor();
    await p.getByLabel("New password").fill("a password I will remember");
    await p.getByRole("button", { name: "Save password" }).click();
    await p.getByText("Your password is changed. Sign in with the new one.").waitFor();
    await p.getByLabel("Email").fill(server.owner.email);
    await p.getByLabel("Password").fill("a password I will remember");
    await p.getByRole("button", { name: "Sign in" }).click();
    // A reset is a chosen password: no forced change follows.
    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    // The link worked once.
    const again = await call(server, "POST", "/v1/auth/staff/password-reset/confirm", null, {
      token: new URL(link).searchParams.get("token"),
      password: "yet another password",
    });
    assert.equal(again.status, 422);
  } finally {
    await server.dispose();
  }
});

test("in the Cognito shape, an invited admin joins the staff pool from the console, signs in there and stays signed in", async (t) => {
  const moto = process.env.MOTO_URL;
  if (!moto) return t.skip("MOTO_URL is not set (scripts/test starts moto_server)");
  const server = await startServer(await cognitoShape(moto));
  try {
    // The first owner stays with this server; they invite an admin by mail.
    const { owner, business } = await ownerSignedIn(server);
    const invited = await call(server, "POST", `/v1/businesses/${business}/invitations`, owner, {
      email: "ada@example.com",
      role: "admin",
    });
    assert.equal(invited.status, 201);
    const mail = await server.mail(/ada@example\.com/);
    const link = /(http\S+\/staff\/accept-invitation\?token=[A-Za-z0-9_-]+)/.exec(mail)[1];

    const p = await page(chromium, "tablet");
    await p.goto(link.replace(/^https?:\/\/[^/]+/, server.url));
    await p.getByLabel("Your name").fill("Ada");
    await p.getByLabel("Password").fill("Ada's own pool password");
    await p.getByRole("button", { name: "Accept" }).click();
    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    const issuer = () => p.evaluate(() => JSON.parse(localStorage.getItem("stampede.staff.session") ?? "{}").issuer);
    assert.equal(await issuer(), "cognito", "the session is the pool's");

    // An access token at its end is renewed through the pool, silently.
    const before = await p.evaluate(() => {
      const s = JSON.parse(localStorage.getItem("stampede.staff.session"));
      localStorage.setItem("stampede.staff.session", JSON.stringify({ ...s, expires_at: Date.now() }));
      return s.access_token;
    });
    await p.reload();
    await p.locator("ul.cards a").first().waitFor();
    const after = await p.evaluate(() => JSON.parse(localStorage.getItem("stampede.staff.session")).access_token);
    assert.notEqual(after, before, "a new access token from the pool");

    // Signed out at the pool; signed in again through it from the same form.
    await p.getByRole("button", { name: "Sign out" }).click();
    await p.getByLabel("Email").fill("ada@example.com");
    await p.getByLabel("Password").fill("Ada's own pool password");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    assert.equal(await issuer(), "cognito");
    await p.getByRole("button", { name: "Sign out" }).click();

    // The first owner signs in from the same form, with this server.
    await p.getByLabel("Email").fill(server.owner.email);
    await p.getByLabel("Password").fill("a much better password");
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.getByRole("heading", { name: "Your businesses" }).waitFor();
    assert.equal(await issuer(), "local");
  } finally {
    await server.dispose();
  }
});
