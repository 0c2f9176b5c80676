// The participant page: my pairs (sessions API), why we were matched (matching API), my sessions, log a
// session (with an Idempotency-Key, so a retried click never logs it twice) and give feedback.
import { ApiError, api, claims, el, fmt, getJson, say, table, tokenForm, uuid } from "./common.js";

const BASE = new URL(".", location.href).href.replace(/\/$/, "");
const $ = (id) => document.getElementById(id);
const state = { matching: "", sessions: "", me: "", pairs: [], pair: null, pending: null };
const DIRECTION = {
  mentor_to_mentee: "The mentee learned from the mentor",
  mentee_to_mentor: "The mentor learned from the mentee",
  both: "Both learned",
};

async function start() {
  const config = await (await fetch(`${BASE}/web/config.json`)).json();
  state.matching = config.matching_url;
  state.sessions = config.sessions_url;
  $("held-on").value = localToday();
  $("held-on").max = localToday();
  tokenForm(connect);
  $("pair").addEventListener("change", () => showPair($("pair").value));
  $("log-form").addEventListener("submit", logSession);
  $("feedback-form").addEventListener("submit", giveFeedback);
  connect();
}

async function connect() {
  $("content").hidden = true;
  const who = claims();
  if (!who) return say($("message"), "Paste your participant token above to see your pair.", "info");
  if (!(who.roles || []).includes("participant")) {
    return say(
      $("message"),
      el(
        "div",
        {},
        el("h2", { text: "This page is for participants" }),
        el("p", { text: "This token is not a participant's. Paste the token you were given as a participant." }),
        el("p", {}, "Program admins and auditors: see ", el("a", { href: "dashboard", text: "the program dashboard" }), "."),
      ),
    );
  }
  state.me = who.sub;
  try {
    state.pairs = await getJson(`${state.sessions}/participants/${encodeURIComponent(state.me)}/pairs`);
  } catch (error) {
    return say($("message"), error.message);
  }
  if (!state.pairs.length) {
    return say($("message"), "You are not in a pair yet. Pairs are formed in matching rounds: come back after the next one.", "info");
  }
  say($("message"), null);
  const current = [...state.pairs].reverse().find((p) => p.status === "active") || state.pairs.at(-1);
  $("pair").replaceChildren(
    ...state.pairs.map((p) => el("option", { value: p.pair_id }, `${partnerOf(p)} — ${p.status} (${p.pair_id})`)),
  );
  $("pair").value = current.pair_id;
  $("content").hidden = false;
  showPair(current.pair_id);
}

const sideOf = (pair) => (pair.mentor_id === state.me ? "mentor" : "mentee");
const partnerOf = (pair) => (sideOf(pair) === "mentor" ? `My mentee ${pair.mentee_id}` : `My mentor ${pair.mentor_id}`);

async function showPair(pairId) {
  state.pair = state.pairs.find((p) => p.pair_id === pairId);
  state.pending = null;
  const pair = state.pair;
  $("who").textContent =
    sideOf(pair) === "mentor"
      ? `I am ${state.me}, the mentor of ${pair.mentee_id}: I share what I know with a more senior colleague.`
      : `I am ${state.me}, the mentee of ${pair.mentor_id}: a more junior colleague shares what they know with me.`;
  const dissolved = pair.status !== "active";
  $("log-fields").disabled = dissolved;
  say($("log-result"), dissolved ? "This pair is dissolved: no new sessions can be logged. Feedback is still welcome." : null, "info");
  say($("feedback-result"), null);
  await Promise.all([showWhy(pair), showSessions(pair)]);
}

async function showWhy(pair) {
  try {
    const explained = await getJson(`${state.matching}/pairs/${encodeURIComponent(pair.pair_id)}`);
    const criteria = Object.entries(explained.breakdown).sort((a, b) => b[1] - a[1]);
    const widest = Math.max(...criteria.map(([, v]) => v), 1e-9);
    const bar = (value) => {
      const fill = el("div", { class: "bar-fill criterion" });
      fill.style.width = `${Math.max(0, (value / widest) * 100)}%`;
      return el("div", { class: "bar-track", "aria-hidden": "true" }, fill);
    };
    $("why").replaceChildren(
      el("p", {}, "Match score ", el("span", { class: "score", "data-figure": "score", text: explained.score.toFixed(2) })),
      el("p", {
        class: "summary",
        text: "The score adds up what each criterion contributed, weighted by the program's priorities. The strongest reasons come first.",
      }),
      table(
        "What each criterion contributed",
        ["Criterion", "Contribution", "", "What it measures"],
        criteria.map(([name, value]) => [fmt.words(name), value.toFixed(2), bar(value), explained.criteria[name] || ""]),
        { numeric: [1] },
      ),
    );
  } catch (error) {
    say($("why"), `Could not load the match explanation: ${error.message}`);
  }
}

async function showSessions(pair) {
  try {
    const sessions = await getJson(`${state.sessions}/pairs/${encodeURIComponent(pair.pair_id)}/sessions`);
    sessions.sort((a, b) => b.held_on.localeCompare(a.held_on) || b.logged_at.localeCompare(a.logged_at));
    const minutes = sessions.reduce((sum, s) => sum + s.minutes, 0);
    $("sessions").replaceChildren(
      el("p", {
        class: "summary",
        "data-figure": "sessions-count",
        text: sessions.length
          ? `${fmt.int(sessions.length)} ${sessions.length === 1 ? "session" : "sessions"}, ${fmt.int(minutes)} minutes together.`
          : "No session logged yet.",
      }),
      sessions.length
        ? el(
            "div",
            { class: "scroll", tabindex: "0", role: "region", "aria-label": "My sessions" },
            table(
              "Our sessions, latest first",
              ["Day", "Minutes", "Topics", "Who learned", "Notes"],
              sessions.map((s) => [fmt.date(s.held_on), fmt.int(s.minutes), (s.topics || []).join(", "), DIRECTION[s.learning_direction] || s.learning_direction, s.notes || ""]),
              { numeric: [1] },
            ),
          )
        : null,
    );
  } catch (error) {
    say($("sessions"), `Could not load the sessions: ${error.message}`);
  }
}

async function logSession(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const data = new FormData(form);
  const body = {
    held_on: data.get("held_on"),
    minutes: Number(data.get("minutes")),
    topics: String(data.get("topics") || "").split(",").map((t) => t.trim()).filter(Boolean),
    learning_direction: data.get("learning_direction"),
    notes: String(data.get("notes") || ""),
  };
  // The same request retried keeps its key, so the service answers it once; a changed request gets a new key.
  const sent = JSON.stringify(body);
  if (!state.pending || state.pending.body !== sent) state.pending = { key: uuid(), body: sent };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`${state.sessions}/pairs/${encodeURIComponent(state.pair.pair_id)}/sessions`, {
      method: "POST",
      body,
      headers: { "Idempotency-Key": state.pending.key },
    });
    state.pending = null;
    form.reset();
    $("held-on").value = localToday();
    await showSessions(state.pair);
    say($("log-result"), `Session of ${fmt.date(body.held_on)} logged. Thank you!`, "ok");
  } catch (error) {
    say($("log-result"), `The session was not logged: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function giveFeedback(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const data = new FormData(form);
  const body = { rating: Number(data.get("rating")), learned: String(data.get("learned") || ""), would_continue: $("would-continue").checked };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(`${state.sessions}/pairs/${encodeURIComponent(state.pair.pair_id)}/feedback`, { method: "POST", body });
    form.reset();
    say($("feedback-result"), `Thank you: your rating of ${body.rating} was recorded.`, "ok");
  } catch (error) {
    say($("feedback-result"), `The feedback was not recorded: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function localToday() {
  const d = new Date();
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);
}

start().catch((error) => say($("message"), error instanceof ApiError ? error.message : `The page could not start: ${error}`));
