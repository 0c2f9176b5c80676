// What both pages share: the pasted token, calls to the APIs, safe DOM building and number formatting.

const TOKEN_KEY = "tandem.token";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
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

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** fetch with the bearer token; throws ApiError with a sentence a person can act on. */
export async function api(url, { method = "GET", body, headers = {} } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (token.get()) sent.Authorization = `Bearer ${token.get()}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers: sent, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, `The service at ${new URL(url, location.href).origin} did not answer. Is it running?`);
  }
  if (!response.ok) throw new ApiError(response.status, await explain(response));
  return response;
}

export const getJson = async (url) => (await api(url)).json();

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
  if (response.status === 401) return "Your token is missing, invalid or expired. Paste a fresh token above.";
  if (response.status === 403) return `This token is not allowed to do that (${detail}).`;
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

/** The token form in the header of both pages. */
export function tokenForm(onChange) {
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
