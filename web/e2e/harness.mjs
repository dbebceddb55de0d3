// What every journey needs: a fresh server on the embedded default (its own
// data folder and port), Debian's Chromium driven by playwright-core, and
// axe-core's accessibility check.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import QRCode from "qrcode";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
export const BIN = process.env.E2E_BIN ?? join(process.env.HOME, ".cache/stampede/target/debug/stampede");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A server on a fresh data folder; `stop()` and `start()` keep the folder and
 * port. `env` adds settings (`STAMPEDE_…`) to the embedded default.
 */
export async function startServer(env = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "stampede-e2e-"));
  const port = await freePort();
  const server = { dataDir, port, url: `http://127.0.0.1:${port}`, owner: null, child: null, env };
  server.start = () => launch(server);
  server.stop = () => stop(server);
  server.dispose = async () => {
    await stop(server);
    rmSync(dataDir, { recursive: true, force: true });
  };
  /** The newest mail file's text matching `pattern`, waited for (mail is sent by a worker). */
  server.mail = async (pattern) => {
    const dir = join(dataDir, "mail");
    for (let i = 0; i < 100; i++) {
      // Finished mail only: the mailbox writes a hidden .tmp file, then renames it.
      const files = existsSync(dir)
        ? readdirSync(dir)
            .filter((f) => f.endsWith(".eml") && !f.startsWith("."))
            .sort()
            .reverse()
        : [];
      for (const f of files) {
        const raw = readFileSync(join(dir, f), "utf8");
        if (pattern.test(raw)) return plainText(raw);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail matching ${pattern} in ${dir}`);
  };
  /** Every mail file so far: its headers and its plain text. */
  server.mails = () => {
    const dir = join(dataDir, "mail");
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".eml") && !f.startsWith(".")).sort() : [];
    return files.map((f) => {
      const raw = readFileSync(join(dir, f), "utf8");
      return { headers: raw.split(/\r?\n\r?\n/)[0], text: plainText(raw) };
    });
  };
  await launch(server);
  return server;
}

/** The text/plain part of a mail file (base64, as the mailbox writes it). */
function plainText(raw) {
  const part = raw.split(/Content-Type: text\/plain[^\r\n]*\r?\nContent-Transfer-Encoding: base64\r?\n\r?\n/)[1];
  if (!part) return raw;
  return Buffer.from(part.split(/\r?\n--/)[0].replace(/\s+/g, ""), "base64").toString("utf8");
}

function launch(server) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ["serve"], {
      env: {
        // The server refuses settings it does not know: none of the caller's.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("STAMPEDE_"))),
        STAMPEDE_DATA_DIR: server.dataDir,
        STAMPEDE_SERVER__PORT: String(server.port),
        STAMPEDE_SERVER__PUBLIC_URL: server.url,
        STAMPEDE_LOG__LEVEL: "warn",
        ...server.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.child = child;
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${out}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const email = /email:\s+(\S+)/.exec(out);
      const password = /one-time password:\s+(\S+)/.exec(out);
      if (email && password) server.owner = { email: email[1], password: password[1] };
      if (out.includes("is listening on")) {
        clearTimeout(timer);
        resolve(server);
      }
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (!out.includes("is listening on")) reject(new Error(`the server exited (${code}):\n${out}`));
    });
  });
}

function stop(server) {
  const child = server.child;
  server.child = null;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

export async function browser(args = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", ...args] });
}

/**
 * A Chromium whose camera films `text` as a QR code: a Y4M video written to
 * `file` and played by Chromium's fake capture device, the permission
 * granted as a person would.
 */
export async function browserFilming(text, file) {
  const W = 640;
  const H = 480;
  const qr = QRCode.create(text, { errorCorrectionLevel: "M" });
  const n = qr.modules.size;
  const scale = Math.floor(Math.min(W, H) / (n + 8));
  const left = Math.floor((W - n * scale) / 2);
  const top = Math.floor((H - n * scale) / 2);
  const y = Buffer.alloc(W * H, 235); // white
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!qr.modules.get(r, c)) continue;
      for (let dy = 0; dy < scale; dy++) y.fill(16, (top + r * scale + dy) * W + left + c * scale, (top + r * scale + dy) * W + left + (c + 1) * scale);
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  const frame = Buffer.concat([Buffer.from("FRAME\n"), y, chroma, chroma]);
  const header = Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(file, Buffer.concat([header, ...Array(10).fill(frame)]));
  return browser([
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-video-capture=${file}`,
  ]);
}

/**
 * A page the size of `device` ("phone" or "tablet"), under the server's
 * Content-Security-Policy as a person's browser is; what the policy refused
 * is kept in `p.refused` (the journeys expect it empty).
 */
export async function page(b, device = "tablet") {
  const viewport = device === "phone" ? { width: 390, height: 844 } : { width: 1024, height: 768 };
  const context = await b.newContext({ viewport });
  const p = await context.newPage();
  p.refused = [];
  p.on("console", (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) p.refused.push(m.text());
  });
  return p;
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function accessibilityProblems(p) {
  // Evaluated through the DevTools protocol, which the page's CSP does not
  // govern (a <script> tag it would refuse).
  await p.evaluate(AXE);
  const result = await p.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Call the API as `token` (a staff access token or a terminal key). */
export async function call(server, method, path, token, body, headers = {}) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** One Cognito API call to moto (which reads the region from the credential scope). */
async function cognito(moto, action, body) {
  const res = await fetch(moto, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": `AWSCognitoIdentityProviderService.${action}`,
      authorization:
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${action}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** A user pool and its app client in moto, as the reference template makes them: [pool, client]. */
async function pool(moto, name) {
  const made = await cognito(moto, "CreateUserPool", {
    PoolName: name,
    UsernameAttributes: ["email"],
    Policies: {
      PasswordPolicy: { MinimumLength: 10, RequireLowercase: false, RequireUppercase: false, RequireNumbers: false, RequireSymbols: false },
    },
  });
  const id = made.UserPool.Id;
  const client = await cognito(moto, "CreateUserPoolClient", {
    UserPoolId: id,
    ClientName: "stampede",
    ExplicitAuthFlows: ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
  });
  return [id, client.UserPoolClient.ClientId];
}

/** Settings for the Cognito shape against moto at `moto`: fresh customer and staff pools. */
export async function cognitoShape(moto) {
  const tag = Math.random().toString(36).slice(2);
  const [customers, customersClient] = await pool(moto, `customers-${tag}`);
  const [staff, staffClient] = await pool(moto, `staff-${tag}`);
  return {
    STAMPEDE_IDENTITY__BACKEND: "cognito",
    STAMPEDE_IDENTITY__COGNITO__CUSTOMERS__POOL_ID: customers,
    STAMPEDE_IDENTITY__COGNITO__CUSTOMERS__CLIENT_ID: customersClient,
    STAMPEDE_IDENTITY__COGNITO__CUSTOMERS__JWKS_URL: `${moto}/${customers}/.well-known/jwks.json`,
    STAMPEDE_IDENTITY__COGNITO__STAFF__POOL_ID: staff,
    STAMPEDE_IDENTITY__COGNITO__STAFF__CLIENT_ID: staffClient,
    STAMPEDE_IDENTITY__COGNITO__STAFF__JWKS_URL: `${moto}/${staff}/.well-known/jwks.json`,
    STAMPEDE_AWS__ENDPOINT_URL: moto,
    STAMPEDE_AWS__ACCESS_KEY_ID: "testing",
    STAMPEDE_AWS__SECRET_ACCESS_KEY: "testing",
  };
}
