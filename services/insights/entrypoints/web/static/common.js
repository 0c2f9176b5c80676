// What both pages share: signing in (OpenID Connect, or a pasted token in development), calls to the APIs, safe
// DOM building and number formatting.

const TOKEN_KEY = "tandem.token";
// sessionStorage, not localStorage: a sign-in lasts as long as this tab and its access token, never longer.
const session = { manager: null, user: null, expired: () => {} };

/** The bearer token the APIs get: the signed-in user's access token, or the pasted one without a provider. */
export const token = {
  get: () =>
    session.manager
      ? session.user && !session.user.expired
        ? session.user.access_token
        : ""
      : sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value.trim()),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** The token's claims, read without verifying it: only to tailor the page; the APIs decide what is allowed. */
export function claims(jwt = token.get()) {
  try {
    const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return null;
  }
}

export const signedInWithProvider = () => session.manager !== null;

/**
 * Sign-in for the page: with a provider in `config.oidc`, the authorization code flow with PKCE (S256) through
 * oidc-client-ts, back to this very page (its address, query included, is restored after the provider's
 * redirect); without one, the paste-a-token form (development only). `onChange` runs whenever the user changes.
 */
export async function startSignIn(config, onChange) {
  if (!config.oidc || !window.oidc) {
    document.getElementById("token-form").hidden = false;
    return tokenForm(onChange);
  }
  document.getElementById("token-form").hidden = true;
  document.getElementById("account").hidden = false;
  const page = `${location.origin}${location.pathname}`;
  const storage = new oidc.WebStorageStateStore({ store: sessionStorage });
  session.manager = new oidc.UserManager({
    authority: config.oidc.issuer,
    client_id: config.oidc.client_id,
    scope: config.oidc.scope,
    redirect_uri: page,
    post_logout_redirect_uri: page,
    response_type: "code",
    userStore: storage,
    stateStore: storage,
    // No silent renewal: a sign-in ends when its access token does, and the person signs in again.
    automaticSilentRenew: false,
    monitorSession: false,
    loadUserInfo: false,
  });
  const expired = async () => {
    if (!session.user) return; // told twice: by the provider library's timer and by a call that found it expired
    session.user = null;
    await session.manager.removeUser();
    showAccount("Signed out: your session expired. Sign in again to continue.");
    onChange();
  };
  session.expired = expired;
  session.manager.events.addAccessTokenExpired(expired);
  document.getElementById("sign-in").addEventListener("click", () =>
    session.manager.signinRedirect({ state: location.search + location.hash }),
  );
  document.getElementById("sign-out").addEventListener("click", async () => {
    const idToken = session.user?.id_token;
    session.user = null;
    await session.manager.signoutRedirect({ id_token_hint: idToken, post_logout_redirect_uri: page });
  });

  const query = new URLSearchParams(location.search);
  if (query.has("state") && (query.has("code") || query.has("error"))) {
    try {
      session.user = await session.manager.signinRedirectCallback();
      history.replaceState(null, "", `${location.pathname}${session.user.state || ""}`);
    } catch (error) {
      history.replaceState(null, "", location.pathname);
      showAccount(`The sign-in did not complete (${error.message}). Try again.`);
      return onChange();
    }
  } else {
    session.user = await session.manager.getUser();
    if (session.user?.expired) return expired();
  }
  showAccount();
  onChange();
}

function showAccount(note = "") {
  const user = session.user;
  const name = user ? user.profile.name || user.profile.preferred_username || "you" : "";
  document.getElementById("signed-in-as").textContent = user ? `Signed in as ${name}` : "Not signed in";
  document.getElementById("sign-in").hidden = Boolean(user);
  document.getElementById("sign-out").hidden = !user;
  const shown = document.getElementById("session-note");
  shown.textContent = note;
  shown.hidden = !note;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** fetch with the bearer token; throws ApiError with a sentence a person can act on. */
export async function api(url, { method = "GET", body, form, headers = {} } = {}) {
  if (session.manager && (!session.user || session.user.expired)) {
    // Signed in with the provider, no call goes out without its token: the session ended, and the page says so.
    session.expired();
    throw new ApiError(401, "You are not signed in, or your session expired. Sign in above.");
  }
  const sent = { Accept: "application/json", ...headers };
  if (token.get()) sent.Authorization = `Bearer ${token.get()}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  // A FormData body (a file upload) sets its own multipart Content-Type, boundary included.
  const payload = form ?? (body === undefined ? undefined : JSON.stringify(body));
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body: payload });
  } catch {
    throw new ApiError(0, `The service at ${new URL(url, location.href).origin} did not answer. Is it running?`);
  }
  if (!response.ok) throw new ApiError(response.status, await explain(response));
  return response;
}

export const getJson = async (url) => (await api(url)).json();
export const postJson = async (url, body) => (await api(url, { method: "POST", body })).json();

async function explain(response) {
  let detail = "";
  try {
    const body = await response.json();
    detail = Array.isArray(body.detail)
      ? body.detail.map((d) => `${(d.loc || []).filter((l) => l !== "body").join(".") || "request"}: ${d.msg}`).join("; ")
      : String(body.detail ?? "");
  } catch {
    detail = response.statusText;
  }
  if (response.status === 401) {
    return signedInWithProvider()
      ? "You are not signed in, or your session expired. Sign in above."
      : "Your token is missing, invalid or expired. Paste a fresh token above.";
  }
  if (response.status === 403) return `You are not allowed to do that (${detail}).`;
  return detail || `The service answered ${response.status}.`;
}

/** Build an element; strings become text nodes, so data from the APIs is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function table(caption, headers, rows, { numeric = [] } = {}) {
  const cls = (i) => (numeric.includes(i) ? "num" : undefined);
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, headers.map((h, i) => el("th", { scope: "col", class: cls(i) }, h)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell, i) => el("td", { class: cls(i) }, cell))))),
  );
}

const NUMBER = new Intl.NumberFormat("en-GB");
export const fmt = {
  int: (n) => (n === null || n === undefined ? "—" : NUMBER.format(n)),
  dec: (n, digits = 1) => (n === null || n === undefined ? "—" : n.toFixed(digits)),
  pct: (share) => (share === null || share === undefined ? "—" : `${Math.round(share * 100)} %`),
  date: (value) =>
    value ? new Date(value).toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" }) : "—",
  dateTime: (value) =>
    value ? new Date(value).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "—",
  time: (value) => new Date(value).toLocaleTimeString("en-GB"),
  words: (name) => name.replace(/_/g, " "),
};

/** Show a message in a container with role="alert" (or clear it with null). */
export function say(container, message, kind = "error") {
  container.replaceChildren();
  container.hidden = !message;
  if (!message) return;
  container.className = `message ${kind === "error" ? "" : kind}`.trim();
  if (typeof message === "string") container.append(el("p", { text: message }));
  else container.append(message);
}

/** The token form in the header of both pages (development only: no provider configured). */
function tokenForm(onChange) {
  const form = document.getElementById("token-form");
  const input = document.getElementById("token");
  input.value = token.get();
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    token.set(input.value);
    onChange();
  });
  document.getElementById("forget-token").addEventListener("click", () => {
    token.clear();
    input.value = "";
    onChange();
  });
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}
