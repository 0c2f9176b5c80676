// The program dashboard: every figure comes from insights' report and per-pair rows, read with the signed-in
// user's token. Without an "as of" instant it polls, so figures follow the events as they arrive. A program's
// admins see its participants by name (enrolment resolves them); auditors and sponsors see pseudonyms. Program
// admins upload HR's roster here.
import { ApiError, api, claims, el, fmt, getJson, postJson, say, signedInWithProvider, startSignIn, table } from "./common.js";
import { renderDigest } from "./digest.js";

const BASE = new URL(".", location.href).href.replace(/\/$/, "");
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = {
  pollSeconds: 5,
  programs: [],
  programId: params.get("program") || "",
  asOf: params.get("as_of") || null,
  paused: false,
  timer: null,
  generation: 0,
  shown: null, // headline figures last shown, to announce what changed
  charts: {},
  enrolment: "",
  sessions: "",
  notifications: "", // notifications' API; empty: the dashboard shows no notifications
  names: new Map(), // participant id -> display name, for the programs this user administers
  unnamed: new Set(), // programs whose names enrolment refused to this user (auditors, sponsors, other admins)
};
const NAMES_PER_CALL = 500; // the most one names request may ask for

const COLOURS = { blue: "#1f5fbf", orange: "#a34d00", green: "#1e7b34", grey: "#7b8794", red: "#b3261e" };
const SHARE_TARGETS = new Set([
  "match_rate",
  "cadence_adherence",
  "cross_generation_share",
  "cross_department_share",
  "acceptance_rate",
  "completion_rate",
  "would_recommend_rate",
]);
const RISK = {
  no_recent_session: ["No recent session", "warn"],
  low_rating: ["Low rating", "danger"],
};

// ------------------------------------------------------------------------------------------------- loading

async function start() {
  let config = {};
  try {
    config = await (await fetch(`${BASE}/web/config.json`)).json();
    state.pollSeconds = Number(params.get("poll")) || config.poll_seconds || 5;
    state.enrolment = config.enrolment_url || "";
    state.sessions = config.sessions_url || "";
    state.notifications = config.notifications_url || "";
  } catch {
    /* keep the default */
  }
  if (window.Chart) {
    Chart.defaults.animation = false;
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily;
    Chart.defaults.font.size = 13;
    Chart.defaults.color = "#1b2430";
    Chart.defaults.maintainAspectRatio = false;
  }
  if (state.asOf) $("as-of").value = toLocalInput(state.asOf);
  $("roster-form").addEventListener("submit", uploadRoster);
  $("program").addEventListener("change", () => {
    state.programId = $("program").value;
    state.shown = null;
    refresh();
  });
  $("as-of").addEventListener("change", () => {
    const value = $("as-of").value;
    state.asOf = value ? new Date(value).toISOString() : null;
    refresh();
  });
  $("now").addEventListener("click", () => {
    $("as-of").value = "";
    state.asOf = null;
    refresh();
  });
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    $("pause").setAttribute("aria-pressed", String(state.paused));
    $("pause").textContent = state.paused ? "Resume" : "Pause";
    refresh();
  });
  $("csv").addEventListener("click", downloadCsv);
  $("digest-html").addEventListener("click", () => downloadDigest("html"));
  $("digest-md").addEventListener("click", () => downloadDigest("markdown"));
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && live()) refresh();
  });
  await startSignIn(config, connect);
}

const roles = () => claims()?.roles || [];

async function connect() {
  clearTimeout(state.timer);
  state.generation += 1;
  state.shown = null;
  $("report").hidden = true;
  const select = $("program");
  select.disabled = true;
  $("csv").disabled = true;
  $("digest-html").disabled = $("digest-md").disabled = true;
  $("roster").hidden = !(roles().includes("program_admin") && state.enrolment);
  if (!claims()) {
    select.replaceChildren(el("option", { value: "", text: signedInWithProvider() ? "Sign in first" : "Paste a token first" }));
    setStatus("Not connected.", false);
    return say(
      $("message"),
      signedInWithProvider()
        ? "Sign in above as a program admin, auditor or sponsor to see the figures."
        : "Paste a program admin or auditor token above to see the figures.",
      "info",
    );
  }
  try {
    state.programs = (await getJson(`${BASE}/programs`)).sort((a, b) => b.launched_at.localeCompare(a.launched_at));
  } catch (error) {
    select.replaceChildren(el("option", { value: "", text: "No access" }));
    setStatus("Not connected.", false);
    return say($("message"), explainAccess(error));
  }
  if (!state.programs.length) {
    select.replaceChildren(el("option", { value: "", text: "No program yet" }));
    return say($("message"), "Insights knows no program yet. Launch one in the enrolment service.", "info");
  }
  select.replaceChildren(
    ...state.programs.map((p) =>
      el("option", { value: p.program_id }, `${p.title} — launched ${fmt.date(p.launched_at)}`),
    ),
  );
  if (!state.programs.some((p) => p.program_id === state.programId)) state.programId = state.programs[0].program_id;
  select.value = state.programId;
  select.disabled = false;
  say($("message"), null);
  refresh();
}

function explainAccess(error) {
  if (error instanceof ApiError && error.status === 403) {
    return el(
      "div",
      {},
      el("h2", { text: "Not allowed" }),
      el("p", {
        text:
          "This token may not read program figures: the dashboard is for program admins and auditors. " +
          "A participant's token shows that participant's own pair only.",
      }),
      el("p", {}, "Participants: open ", el("a", { href: "participant", text: "your participant page" }), "."),
    );
  }
  return error.message;
}

const live = () => !state.asOf && !state.paused;

async function refresh() {
  clearTimeout(state.timer);
  if (!state.programId) return;
  const generation = ++state.generation;
  const query = state.asOf ? `?as_of=${encodeURIComponent(state.asOf)}` : "";
  const program = encodeURIComponent(state.programId);
  keepInUrl();
  try {
    const several = state.programs.length > 1; // an overview only helps someone overseeing several programs
    const [report, pairs, overview] = await Promise.all([
      getJson(`${BASE}/programs/${program}/report${query}`),
      getJson(`${BASE}/programs/${program}/pairs${query}`),
      several ? getJson(`${BASE}/overview${query}`) : null,
    ]);
    if (generation !== state.generation) return;
    renderOverview(overview);
    await learnNames(state.programId, [...pairs.flatMap((p) => [p.mentor_id, p.mentee_id])]);
    if (generation !== state.generation) return;
    render(report, pairs);
    await refreshNotifications(state.programId, generation);
    say($("message"), null);
    $("report").hidden = false;
    $("csv").disabled = false;
    // Stories and what leaders changed are for the program's admins only (sessions answers 403 to anyone else).
    $("digest-html").disabled = $("digest-md").disabled = !(roles().includes("program_admin") && state.sessions);
    setStatus(
      state.asOf
        ? `Snapshot as of ${fmt.dateTime(report.as_of)}.`
        : state.paused
          ? `Live updates paused; figures from ${fmt.time(report.as_of)}.`
          : `Live: updated ${fmt.time(report.as_of)}, refreshing every ${state.pollSeconds} s.`,
      live(),
    );
  } catch (error) {
    if (generation !== state.generation) return;
    if (error instanceof ApiError && [401, 403].includes(error.status)) {
      $("report").hidden = true;
      setStatus("Not connected.", false);
      return say($("message"), explainAccess(error));
    }
    if (error instanceof ApiError && error.status === 404) {
      $("report").hidden = true;
      say($("message"), "Insights knows nothing of this program at that instant: was it launched later?", "info");
    } else {
      say($("message"), `Could not refresh the figures: ${error.message}`);
    }
  }
  if (live()) state.timer = setTimeout(() => (document.hidden ? null : refresh()), state.pollSeconds * 1000);
}

function keepInUrl() {
  const url = new URL(location.href);
  url.searchParams.set("program", state.programId);
  if (state.asOf) url.searchParams.set("as_of", state.asOf);
  else url.searchParams.delete("as_of");
  history.replaceState(null, "", url);
}

function setStatus(text, isLive) {
  $("status-text").textContent = text;
  document.querySelector("#status .live-dot").classList.toggle("paused", !isLive);
}

async function downloadCsv() {
  const query = state.asOf ? `?as_of=${encodeURIComponent(state.asOf)}` : "";
  try {
    const response = await api(`${BASE}/programs/${encodeURIComponent(state.programId)}/export.csv${query}`, {
      headers: { Accept: "text/csv" },
    });
    const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = el("a", { href: URL.createObjectURL(await response.blob()), download: name ? name[1] : "pairs.csv" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    say($("message"), `Could not download the CSV: ${error.message}`);
  }
}

/** The digest, assembled here from insights' report, sessions' stories and what leaders changed, and enrolment's
 * names of the stories' members only (pairs whose two members both shared): nobody else is asked for or named. */
async function downloadDigest(format) {
  const query = state.asOf ? `?as_of=${encodeURIComponent(state.asOf)}` : "";
  const program = encodeURIComponent(state.programId);
  try {
    const [report, stories, leadersChanged] = await Promise.all([
      getJson(`${BASE}/programs/${program}/report${query}`),
      getJson(`${state.sessions}/programs/${program}/stories`),
      getJson(`${state.sessions}/programs/${program}/leaders-changed`),
    ]);
    const tellers = [...new Set(stories.flatMap((s) => [s.mentor.participant_id, s.mentee.participant_id]))];
    let names = {};
    if (tellers.length && state.enrolment) {
      ({ names } = await postJson(`${state.enrolment}/programs/${program}/participants/names`, { participant_ids: tellers }));
    }
    const digest = renderDigest({ report, stories, leadersChanged, names });
    const [text, type, extension] =
      format === "html" ? [digest.html, "text/html", "html"] : [digest.markdown, "text/markdown", "md"];
    const file = `digest-${state.programId.replace(/[^A-Za-z0-9_.-]/g, "_")}.${extension}`;
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: `${type};charset=utf-8` })), download: file });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    say($("message"), `Could not make the digest: ${error.message}`);
  }
}

/** Names of the program's participants not known yet, from enrolment, for the program's admins only: anyone
 * else keeps the pseudonyms (enrolment answers 403, remembered so it is not asked again). */
async function learnNames(programId, ids) {
  if (!state.enrolment || !roles().includes("program_admin") || state.unnamed.has(programId)) return;
  const unknown = [...new Set(ids)].filter((id) => !state.names.has(id));
  const url = `${state.enrolment}/programs/${encodeURIComponent(programId)}/participants/names`;
  try {
    for (let i = 0; i < unknown.length; i += NAMES_PER_CALL) {
      const batch = unknown.slice(i, i + NAMES_PER_CALL);
      const { names } = await postJson(url, { participant_ids: batch });
      // An id enrolment does not name (erased, unknown) keeps its pseudonym and is not asked for again.
      for (const id of batch) state.names.set(id, names[id] ?? null);
    }
  } catch (error) {
    if (error instanceof ApiError && [403, 404].includes(error.status)) state.unnamed.add(programId);
  }
}

/** A participant as this user may see them: the name for the program's admins, else the pseudonym. */
function person(id) {
  const name = state.names.get(id);
  return name ? el("span", { class: "name", text: name }) : el("span", { class: "mono", text: id });
}

async function uploadRoster(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say($("roster-result"), "Uploading…", "info");
  try {
    const response = await api(`${state.enrolment}/roster/csv`, { method: "POST", form: new FormData(form) });
    showImport(await response.json());
    form.reset();
    state.names.clear(); // new names may have come with the roster
  } catch (error) {
    say($("roster-result"), `The roster was not imported: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function showImport(report) {
  const rejected = report.rejected || [];
  say(
    $("roster-result"),
    el(
      "div",
      {},
      el("p", {
        "data-figure": "roster-accepted",
        text: `${fmt.int(report.accepted)} ${report.accepted === 1 ? "row" : "rows"} accepted, ${fmt.int(rejected.length)} rejected; ${fmt.int(report.participants_updated ?? 0)} enrolled participants updated.`,
      }),
      rejected.length
        ? table(
            "Rejected rows",
            ["Row", "Field", "Problem"],
            rejected.map((r) => [fmt.int(r.row), r.field, r.problem]),
            { numeric: [0] },
          )
        : null,
    ),
    rejected.length ? "error" : "ok",
  );
}

// ------------------------------------------------------------------------------------------------- rendering

function render(report, pairs) {
  $("program-title").textContent = report.title;
  $("as-of-text").textContent = `Counting every event up to ${fmt.dateTime(report.as_of)} (${report.as_of} UTC). Cadence: a session every ${report.cadence_days} days.`;
  renderCards(report);
  renderTargets(report);
  renderFunnel(report);
  renderPairsOverTime(report, pairs);
  renderRatings(report);
  renderMix(report);
  renderLedger(report);
  renderPartnerships(report);
  renderRecognition(report);
  renderPeople(report);
  renderRisk(report);
  renderCadence(report, pairs);
}

function headline(report) {
  const r = report;
  const ratings = r.ratings.overall;
  return [
    ["participants-enrolled", "Enrolled", fmt.int(r.participants.enrolled), `${fmt.int(r.participants.withdrawn)} withdrawn`, "participants_enrolled"],
    ["participants-active", "Active participants", fmt.int(r.participants.active), "enrolled, not withdrawn", "active_participants"],
    ["match-rate", "Match rate", fmt.pct(r.matching.match_rate), `${fmt.int(r.matching.matched_participants)} of ${fmt.int(r.matching.active_participants)} active in a pair`, "match_rate"],
    ["pairs-active", "Active pairs", fmt.int(r.pairs.active), `${fmt.int(r.pairs.formed)} formed, ${fmt.int(r.pairs.completed)} completed, ${fmt.int(r.pairs.dissolved)} dissolved`, "active_pairs"],
    ["sessions-total", "Sessions held", fmt.int(r.sessions.total), `${fmt.int(r.sessions.minutes)} minutes in all`, "sessions_held"],
    ["sessions-per-pair", "Sessions per pair", fmt.dec(r.sessions.average_per_pair), `${fmt.dec(r.sessions.average_minutes_per_pair, 0)} minutes per pair`, "sessions_per_pair"],
    ["cadence-adherence", "Cadence adherence", fmt.pct(r.sessions.cadence_adherence), `over ${fmt.int(r.sessions.pairs_due)} pairs with a session due`, "cadence_adherence"],
    ["average-rating", "Average rating", ratings.average !== null ? `${fmt.dec(ratings.average)} / 5` : ratings.count ? "withheld" : "—", `${fmt.int(ratings.count)} ratings`, "average_rating"],
    ["pairs-at-risk", "Pairs at risk", fmt.int(r.pairs.at_risk), `of ${fmt.int(r.pairs.active)} active pairs`, null],
  ];
}

function renderCards(report) {
  const targets = Object.fromEntries(report.targets.map((t) => [t.name, t]));
  const figures = headline(report);
  $("cards").replaceChildren(
    ...figures.map(([key, label, value, detail, targetName]) => {
      const target = targetName && targets[targetName];
      return el(
        "div",
        { class: key === "pairs-at-risk" && report.pairs.at_risk ? "card risk" : "card" },
        el("dt", { text: label }),
        el("dd", { class: "figure", "data-figure": key, text: value }),
        el("dd", { class: "sub", text: detail }),
        target
          ? el("dd", { class: "sub" }, `Target ${metric(target.name, target.target)} · ${fmt.pct(target.progress)} reached`)
          : null,
      );
    }),
  );
  announceChanges(figures);
}

function announceChanges(figures) {
  const now = Object.fromEntries(figures.map(([key, label, value]) => [key, [label, value]]));
  const before = state.shown;
  state.shown = now;
  if (!before) return;
  const changed = Object.entries(now).filter(([key, [, value]]) => before[key] && before[key][1] !== value);
  if (changed.length) {
    $("announce").textContent = `Figures updated: ${changed
      .slice(0, 3)
      .map(([key, [label, value]]) => `${label} ${value}, was ${before[key][1]}`)
      .join("; ")}.`;
  }
}

function metric(name, value) {
  if (value === null || value === undefined) return "—";
  if (SHARE_TARGETS.has(name)) return fmt.pct(value);
  return Number.isInteger(value) ? fmt.int(value) : fmt.dec(value, 2);
}

function renderTargets(report) {
  if (!report.targets.length) {
    return $("targets").replaceChildren(el("p", { class: "empty", text: "This program declared no targets." }));
  }
  const rows = report.targets.map((t) => {
    const done = t.progress !== null && t.progress >= 1;
    const fill = el("div", { class: done ? "bar-fill done" : "bar-fill" });
    fill.style.width = `${Math.min(100, Math.max(0, (t.progress ?? 0) * 100))}%`;
    return [
      fmt.words(t.name),
      metric(t.name, t.target),
      t.actual === null ? "not measured" : metric(t.name, t.actual),
      el(
        "div",
        {},
        el("div", { class: "bar-track", "aria-hidden": "true" }, fill),
        el("span", {}, t.progress === null ? "—" : `${fmt.pct(t.progress)}${done ? " · reached" : ""}`),
      ),
    ];
  });
  $("targets").replaceChildren(
    table("Progress against the program's targets", ["Target", "Goal", "Actual", "Progress"], rows, { numeric: [1, 2] }),
  );
}

function renderFunnel(report) {
  const { enrolled, active } = report.participants;
  const matched = report.matching.matched_participants;
  const share = (n) => (enrolled ? n / enrolled : null);
  const steps = [
    ["Enrolled", enrolled],
    ["Active", active],
    ["Matched", matched],
  ];
  const summary = `${fmt.int(enrolled)} enrolled, ${fmt.int(active)} still active (${fmt.pct(share(active))}), ${fmt.int(matched)} in an active pair (${fmt.pct(share(matched))} of those enrolled).`;
  $("funnel-summary").textContent = summary;
  drawChart("funnel-chart", `Bar chart of the enrolment funnel: ${summary}`, {
    type: "bar",
    data: {
      labels: steps.map(([label]) => label),
      datasets: [{ label: "Participants", data: steps.map(([, n]) => n), backgroundColor: [COLOURS.grey, COLOURS.blue, COLOURS.green] }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  $("funnel-table").replaceChildren(
    table("Enrolment funnel", ["Stage", "Participants", "Share of enrolled"], steps.map(([label, n]) => [label, fmt.int(n), fmt.pct(share(n))]), { numeric: [1, 2] }),
  );
}

function renderPairsOverTime(report, pairs) {
  const program = state.programs.find((p) => p.program_id === report.program_id);
  const changes = new Map(); // instant (ms) -> [formed, dissolved]
  const bump = (instant, i) => {
    const at = Date.parse(instant);
    const entry = changes.get(at) || [0, 0];
    entry[i] += 1;
    changes.set(at, entry);
  };
  for (const pair of pairs) {
    bump(pair.formed_at, 0);
    if (pair.dissolved_at) bump(pair.dissolved_at, 1);
  }
  const start = program ? Date.parse(program.launched_at) : Math.min(...changes.keys(), Date.parse(report.as_of));
  const end = Date.parse(report.as_of);
  const active = [{ x: start, y: 0 }];
  const formed = [{ x: start, y: 0 }];
  let [nActive, nFormed] = [0, 0];
  for (const [at, [f, d]] of [...changes.entries()].sort((a, b) => a[0] - b[0])) {
    nFormed += f;
    nActive += f - d;
    active.push({ x: at, y: nActive });
    formed.push({ x: at, y: nFormed });
  }
  active.push({ x: end, y: nActive });
  formed.push({ x: end, y: nFormed });
  const span = end - start;
  const tickFormat =
    span < 2 * 3_600_000
      ? { hour: "2-digit", minute: "2-digit", second: "2-digit" }
      : span < 2 * 86_400_000
        ? { hour: "2-digit", minute: "2-digit" }
        : { day: "numeric", month: "short" };
  const tick = (ms) => new Date(ms).toLocaleString("en-GB", tickFormat);
  const summary = `From ${fmt.date(start)} to ${fmt.date(end)}: ${fmt.int(report.pairs.formed)} pairs formed, ${fmt.int(report.pairs.dissolved)} dissolved, ${fmt.int(report.pairs.active)} active now.`;
  $("pairs-summary").textContent = summary;
  const line = (label, data, colour, dash) => ({
    label, data, stepped: "after", borderColor: colour, backgroundColor: colour, borderDash: dash, pointRadius: 2, borderWidth: 2,
  });
  drawChart("pairs-chart", `Step chart of pairs over time. ${summary}`, {
    type: "line",
    data: { datasets: [line("Active pairs", active, COLOURS.blue, []), line("Pairs formed (cumulative)", formed, COLOURS.orange, [6, 4])] },
    options: {
      parsing: false,
      scales: {
        x: { type: "linear", min: start, max: end, ticks: { callback: tick, maxTicksLimit: 8 } },
        y: { beginAtZero: true, ticks: { precision: 0 } },
      },
      plugins: { tooltip: { callbacks: { title: (items) => fmt.dateTime(items[0].parsed.x) } } },
    },
  });
  const byDay = new Map();
  let running = 0;
  for (const [at, [f, d]] of [...changes.entries()].sort((a, b) => a[0] - b[0])) {
    const day = fmt.date(at);
    const entry = byDay.get(day) || [0, 0, 0];
    running += f - d;
    byDay.set(day, [entry[0] + f, entry[1] + d, running]);
  }
  $("pairs-table").replaceChildren(
    byDay.size
      ? table("Pairs formed and dissolved by day", ["Day", "Formed", "Dissolved", "Active at the end of the day"], [...byDay].map(([day, v]) => [day, ...v.map(fmt.int)]), { numeric: [1, 2, 3] })
      : el("p", { class: "empty", text: "No pair formed yet." }),
  );
}

function renderRatings(report) {
  const sides = [
    ["Mentors", report.ratings.mentor],
    ["Mentees", report.ratings.mentee],
    ["Everyone", report.ratings.overall],
  ];
  const average = (r) => (r.average !== null ? `${fmt.dec(r.average)} of 5 (${fmt.int(r.count)} ratings)` : r.count ? "withheld: too few people rated" : "no rating yet");
  const said = ([label, r]) => `${label.toLowerCase()} ${average(r)}`;
  const summary = `Average rating given by ${sides.map(said).join(", ")}.`;
  $("ratings-summary").textContent = summary;
  drawChart("ratings-chart", `Bar chart of the average rating by side: ${summary}`, {
    type: "bar",
    data: {
      labels: sides.map(([label]) => label),
      datasets: [{ label: "Average rating", data: sides.map(([, r]) => r.average), backgroundColor: [COLOURS.blue, COLOURS.orange, COLOURS.grey] }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 5 } } },
  });
  $("ratings-table").replaceChildren(
    table("Ratings by side", ["Given by", "Average (1–5)", "Ratings"], sides.map(([label, r]) => [label, fmt.dec(r.average), fmt.int(r.count)]), { numeric: [1, 2] }),
  );
}

function renderMix(report) {
  const m = report.mix;
  const rows = [
    ["Generations", m.cross_generation, m.cross_generation_share],
    ["Departments", m.cross_department, m.cross_department_share],
  ];
  const summary = m.pairs_considered
    ? `${fmt.int(m.cross_generation)} of ${fmt.int(m.pairs_considered)} pairs (${fmt.pct(m.cross_generation_share)}) cross generations; ${fmt.int(m.cross_department)} (${fmt.pct(m.cross_department_share)}) cross departments.`
    : "No pair with both profiles known yet.";
  $("mix-summary").textContent = summary;
  drawChart("mix-chart", `Stacked bar chart of pairs that cross generations and departments: ${summary}`, {
    type: "bar",
    data: {
      labels: rows.map(([label]) => label),
      datasets: [
        { label: "Crossing", data: rows.map(([, n]) => n), backgroundColor: COLOURS.green },
        { label: "Same", data: rows.map(([, n]) => m.pairs_considered - n), backgroundColor: "#8795a3" },
      ],
    },
    options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } }, y: { stacked: true } } },
  });
  $("mix-table").replaceChildren(
    table("Pairs that cross", ["Across", "Pairs", "Share of pairs"], rows.map(([label, n, share]) => [label, fmt.int(n), fmt.pct(share)]), { numeric: [1, 2] }),
  );
}

function renderLedger(report) {
  const { mentor_to_mentee: down, mentee_to_mentor: up } = report.learning_ledger;
  const topics = [...new Set([...Object.keys(down), ...Object.keys(up)])].sort(
    (a, b) => (down[b] || 0) + (up[b] || 0) - ((down[a] || 0) + (up[a] || 0)) || a.localeCompare(b),
  );
  const total = (counts) => Object.values(counts).reduce((a, b) => a + b, 0);
  const top = (counts) => Object.entries(counts).sort((a, b) => b[1] - a[1])[0]?.[0];
  const summary = topics.length
    ? `Mentors taught mentees ${fmt.int(total(down))} topic-sessions (most: ${top(down) ?? "none"}); mentees taught mentors ${fmt.int(total(up))} (most: ${top(up) ?? "none"}).`
    : "No session with a topic yet.";
  $("ledger-summary").textContent = summary;
  const shown = topics.slice(0, 15);
  drawChart("ledger-chart", `Diverging bar chart of topics learned in each direction. ${summary}`, {
    type: "bar",
    data: {
      labels: shown,
      datasets: [
        { label: "Mentor → mentee (junior teaches senior)", data: shown.map((t) => -(down[t] || 0)), backgroundColor: COLOURS.blue },
        { label: "Mentee → mentor (senior teaches junior)", data: shown.map((t) => up[t] || 0), backgroundColor: COLOURS.orange },
      ],
    },
    options: {
      indexAxis: "y",
      scales: { x: { stacked: true, ticks: { precision: 0, callback: (v) => Math.abs(v) } }, y: { stacked: true } },
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.abs(c.parsed.x)}` } } },
    },
  });
  $("ledger-table").replaceChildren(
    topics.length
      ? table("Sessions that covered each topic, by direction", ["Topic", "Mentor → mentee", "Mentee → mentor"], topics.map((t) => [t, fmt.int(down[t] || 0), fmt.int(up[t] || 0)]), { numeric: [1, 2] })
      : el("p", { class: "empty", text: "No topic yet." }),
  );
}

function renderOverview(overview) {
  $("overview").hidden = !overview;
  if (!overview) return;
  const open = (row) =>
    el("button", { type: "button", class: "link", "data-program": row.program_id, text: row.title });
  $("overview-table").replaceChildren(
    table(
      "Headline figures per program",
      ["Program", "State", "Active participants", "Active pairs", "Proposals", "Acceptance rate", "Median hours to accept", "Agreements in force", "Completed", "Dissolved", "Completion rate", "At risk"],
      overview.programs.map((row) => [
        open(row),
        row.closed_at ? `closed ${fmt.date(row.closed_at)}` : "running",
        fmt.int(row.active_participants),
        fmt.int(row.active_pairs),
        fmt.int(row.proposals),
        fmt.pct(row.acceptance_rate),
        fmt.dec(row.median_hours_to_accept, 1),
        fmt.int(row.agreements_in_force),
        fmt.int(row.completed),
        fmt.int(row.dissolved),
        fmt.pct(row.completion_rate),
        fmt.int(row.at_risk),
      ]),
      { numeric: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11] },
    ),
  );
  for (const button of $("overview-table").querySelectorAll("button[data-program]")) {
    button.addEventListener("click", () => {
      state.programId = button.dataset.program;
      $("program").value = state.programId;
      state.shown = null;
      refresh();
    });
  }
}

/** A withheld cell (null, issue #19): too few people, or one the total would give away with another. */
const withheld = (n) => (n === null ? "withheld" : fmt.int(n));

/** Enrolled people by role, department and generation, with the report's own words on what is withheld. */
function renderPeople(report) {
  const p = report.participants;
  $("small-cells").textContent = report.small_cells.explanation;
  const cut = (id, caption, heading, counts) =>
    $(id).replaceChildren(table(caption, [heading, "People"], Object.entries(counts).map(([k, n]) => [fmt.words(k), withheld(n)]), { numeric: [1] }));
  cut("people-by-role", "Enrolled by role", "Role", p.by_role);
  cut("people-by-department", "Enrolled by department", "Department", p.by_department);
  cut("people-by-generation", "Enrolled by generation", "Generation", p.by_generation);
}

/** Training by role (a cell that could single someone out comes as null: withheld), certificates, kudos, stories. */
function renderRecognition(report) {
  const r = report.recognition;
  const cards = [
    ["trained", "Completed training", fmt.int(r.trained), `${fmt.int(r.modules_completed)} module completions`],
    ["certificates", "Certificates issued", fmt.int(r.certificates_issued), "to members of completed pairs"],
    ["kudos", "Kudos given", fmt.int(r.kudos_given), "between partners"],
    ["stories", "Stories shared", fmt.int(r.stories_shared), "pairs where both partners shared"],
  ];
  $("recognition-summary").textContent = report.small_cells.explanation;
  $("recognition-cards").replaceChildren(
    ...cards.map(([key, label, value, detail]) =>
      el("div", { class: "card" }, el("dt", { text: label }), el("dd", { class: "figure", "data-figure": key, text: value }), el("dd", { class: "sub", text: detail })),
    ),
  );
  $("training-by-role").replaceChildren(
    table("Completed training by role", ["Role", "People"], Object.entries(r.trained_by_role).map(([role, n]) => [fmt.words(role), withheld(n)]), { numeric: [1] }),
  );
}

function renderPartnerships(report) {
  const p = report.partnerships;
  const goals = p.goals_advanced;
  const cards = [
    ["proposals", "Proposals", fmt.int(p.proposals), `${fmt.int(p.pending)} awaiting answers`],
    ["acceptance-rate", "Acceptance rate", fmt.pct(p.acceptance_rate), `${fmt.int(p.accepted)} accepted, ${fmt.int(p.declined)} declined, ${fmt.int(p.expired)} expired`],
    ["hours-to-accept", "Median time to accept", p.median_hours_to_accept === null ? "—" : `${fmt.dec(p.median_hours_to_accept, 1)} h`, "from proposal to the pair's start"],
    ["agreements-in-force", "Agreements in force", fmt.int(p.agreements_in_force), `${fmt.int(p.agreements_signed)} pairs ever signed one`],
    ["goals-advanced", "Goals advanced", fmt.int(goals.mentor_to_mentee + goals.mentee_to_mentor), `${fmt.int(goals.mentor_to_mentee)} mentor → mentee, ${fmt.int(goals.mentee_to_mentor)} mentee → mentor`],
    ["pairs-completed", "Completed pairs", fmt.int(p.completed), `${fmt.int(p.dissolved)} dissolved`],
    ["completion-rate", "Completion rate", fmt.pct(p.completion_rate), "of the pairs that ended, those that ran their course"],
    ["would-recommend", "Would recommend", fmt.pct(p.would_recommend_rate), `${fmt.int(p.reflections)} closing reflections`],
  ];
  $("partnerships-summary").textContent = p.proposals
    ? `${fmt.int(p.accepted)} of ${fmt.int(p.accepted + p.declined + p.expired)} decided proposals started; ${fmt.int(p.completed)} pairs completed and ${fmt.int(p.dissolved)} dissolved.`
    : `No proposal waited for acceptance; ${fmt.int(p.completed)} pairs completed and ${fmt.int(p.dissolved)} dissolved.`;
  $("partnership-cards").replaceChildren(
    ...cards.map(([key, label, value, detail]) =>
      el("div", { class: "card" }, el("dt", { text: label }), el("dd", { class: "figure", "data-figure": key, text: value }), el("dd", { class: "sub", text: detail })),
    ),
  );
  const reasons = (caption, counts) =>
    table(caption, ["Reason", "Count"], Object.entries(counts).map(([code, n]) => [fmt.words(code), fmt.int(n)]), { numeric: [1] });
  $("decline-reasons").replaceChildren(reasons("Why proposals were declined", p.decline_reasons));
  $("dissolution-reasons").replaceChildren(reasons("Why pairs dissolved", p.dissolution_reasons));
}

function reasonTags(reasons) {
  return reasons.map((r) => el("span", { class: `tag ${RISK[r]?.[1] || "warn"}`, text: RISK[r]?.[0] || fmt.words(r) }));
}

function renderRisk(report) {
  const pairs = report.at_risk_pairs;
  if (!pairs.length) {
    return $("risk").replaceChildren(el("p", { class: "empty", text: `No active pair is at risk (of ${fmt.int(report.pairs.active)}).` }));
  }
  const limit = Math.round(report.cadence_days * 1.5);
  $("risk").replaceChildren(
    el("p", { class: "summary", text: `${fmt.int(pairs.length)} of ${fmt.int(report.pairs.active)} active pairs need attention: no session for more than ${limit} days, or a latest rating of 2 or less.` }),
    el(
      "div",
      { class: "scroll", tabindex: "0", role: "region", "aria-label": "Pairs at risk" },
      table(
        "Pairs at risk and why",
        ["Pair", "Mentor", "Mentee", "Why", "Days without a session", "Latest rating: mentor", "Latest rating: mentee"],
        pairs.map((p) => [
          el("span", { class: "mono", text: p.pair_id }),
          person(p.mentor_id),
          person(p.mentee_id),
          reasonTags(p.reasons),
          fmt.int(p.days_without_session),
          fmt.int(p.latest_mentor_rating),
          fmt.int(p.latest_mentee_rating),
        ]),
        { numeric: [4, 5, 6] },
      ),
    ),
  );
}

// ------------------------------------------------------------------------------------------------- notifications

const STATUS = { sent: ["sent", "ok"], pending: ["pending", "warn"], dead: ["dead letter", "danger"] };
const OUTBOX_ROWS = 100; // the newest notifications shown in the outbox

function statusTag(n) {
  const [text, kind] = STATUS[n.status] || [n.status, "warn"];
  return el("span", { class: `tag ${kind}`, text });
}

/** Each pair's last notification to each member and the outbox, from notifications' API (as it is now: it keeps
 * no history to show "as of" an instant). Hidden for anyone it refuses, and when it is not configured. */
async function refreshNotifications(programId, generation) {
  const section = $("notifications");
  if (!state.notifications || state.asOf) return void (section.hidden = true);
  const base = `${state.notifications}/programs/${encodeURIComponent(programId)}`;
  let notices, outbox;
  try {
    [notices, outbox] = await Promise.all([
      getJson(`${base}/pairs/last-notifications?page_size=500`),
      getJson(`${base}/notifications?page_size=${OUTBOX_ROWS}`),
    ]);
  } catch (error) {
    // The figures above stand on their own: a notifications service out of reach only empties this section.
    section.hidden = error instanceof ApiError && [401, 403, 404].includes(error.status);
    $("notices").replaceChildren();
    $("outbox").replaceChildren();
    $("notifications-summary").textContent = `Notifications could not be read: ${error.message}`;
    return;
  }
  if (generation !== state.generation) return;
  await learnNames(programId, notices.items.flatMap((p) => p.members.map((m) => m.participant_id)));
  renderNotices(notices);
  renderOutbox(outbox, base);
  section.hidden = false;
}

function renderNotices(page) {
  const rows = page.items.flatMap((p) =>
    p.members.map((m) => [
      el("span", { class: "mono", text: p.pair_id }),
      person(m.participant_id),
      m.rule.replace(/-/g, " "),
      statusTag(m),
      fmt.int(m.attempts),
      fmt.dateTime(m.sent_at || m.recorded_at),
    ]),
  );
  $("notices").replaceChildren(
    rows.length
      ? table("Each pair's last notification to each member", ["Pair", "Member", "Notification", "Outcome", "Attempts", "When"], rows, { numeric: [4] })
      : el("p", { class: "empty", text: "No notification yet." }),
  );
}

function renderOutbox(page, base) {
  const dead = page.items.filter((n) => n.status === "dead").length;
  const pending = page.items.filter((n) => n.status === "pending").length;
  $("notifications-summary").textContent =
    `${fmt.int(page.total)} notifications; of the newest ${fmt.int(page.items.length)}: ${fmt.int(pending)} waiting, ${fmt.int(dead)} dead letters.`;
  const admin = roles().includes("program_admin");
  const rows = page.items.map((n) => [
    el("span", { class: "mono", text: n.notification_id.slice(0, 8) }),
    n.rule.replace(/-/g, " "),
    n.channel,
    n.participant_id ? person(n.participant_id) : "program admins",
    statusTag(n),
    fmt.int(n.attempts),
    n.status === "pending" ? fmt.dateTime(n.next_attempt_at) : "—",
    n.last_error || "—",
    n.status === "dead" && admin
      ? el("button", { type: "button", class: "retry", "aria-label": `Retry notification ${n.notification_id}`, text: "Retry", onclick: () => retry(base, n.notification_id) })
      : "",
  ]);
  $("outbox").replaceChildren(
    table("The outbox: delivery status, retries and dead letters", ["Notification", "Rule", "Channel", "To", "Status", "Attempts", "Next attempt", "Last error", ""], rows, { numeric: [5] }),
  );
}

async function retry(base, notificationId) {
  try {
    await postJson(`${base}/notifications/${encodeURIComponent(notificationId)}/retry`, {});
    say($("outbox-message"), "Sent back to the outbox: it goes out at the sender's next run.", "info");
  } catch (error) {
    say($("outbox-message"), `Could not retry it: ${error.message}`);
  }
  refresh();
}

const utcDay = (instant) => Math.floor(Date.parse(instant) / 86_400_000);

function renderCadence(report, pairs) {
  const today = utcDay(report.as_of);
  const rows = pairs.map((p) => ({
    ...p,
    due: p.status === "active" ? Math.floor((today - utcDay(p.formed_at)) / report.cadence_days) : null,
  }));
  rows.sort(
    (a, b) =>
      (a.status === "active" ? 0 : 1) - (b.status === "active" ? 0 : 1) ||
      Number(b.at_risk) - Number(a.at_risk) ||
      (a.cadence_adherence ?? 2) - (b.cadence_adherence ?? 2) ||
      a.pair_id.localeCompare(b.pair_id),
  );
  const due = rows.filter((r) => r.due);
  const onTrack = due.filter((r) => r.sessions >= r.due).length;
  $("cadence-summary").textContent = rows.length
    ? `${fmt.int(onTrack)} of ${fmt.int(due.length)} pairs with a session due are on track (a session every ${report.cadence_days} days); worst first.`
    : "No pair formed yet.";
  if (!rows.length) return $("cadence").replaceChildren();
  const strip = (r) => {
    const slots = [];
    const expected = r.due ?? 0;
    for (let i = 0; i < Math.min(Math.max(expected, r.sessions), 30); i += 1) {
      slots.push(el("span", { class: `slot ${i < r.sessions ? "held" : "missed"}` }));
    }
    return el("div", { class: "strip", "aria-hidden": "true" }, slots);
  };
  const heldText = (r) =>
    r.status !== "active" ? `${r.sessions} held (dissolved)` : r.due ? `${r.sessions} of ${r.due} due` : `${r.sessions} held, none due yet`;
  $("cadence").replaceChildren(
    table(
      "Sessions held against the cadence, one row per pair",
      ["Pair", "Mentor", "Mentee", "Sessions", "Cadence", "Last session", "Days without", "Adherence", "Status"],
      rows.map((r) => [
        el("span", { class: "mono", text: r.pair_id }),
        person(r.mentor_id),
        person(r.mentee_id),
        heldText(r),
        strip(r),
        fmt.date(r.last_session),
        fmt.int(r.days_without_session),
        fmt.pct(r.cadence_adherence),
        r.at_risk ? reasonTags(r.at_risk_reasons) : r.status,
      ]),
      { numeric: [6, 7] },
    ),
  );
}

function drawChart(id, label, config) {
  const canvas = $(id);
  canvas.setAttribute("aria-label", label);
  if (!window.Chart) return; // the tables beside each chart still tell everything
  const chart = state.charts[id];
  if (chart) {
    chart.data = config.data;
    chart.options = config.options;
    chart.update("none");
  } else {
    state.charts[id] = new Chart(canvas, config);
  }
}

function toLocalInput(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
}

start().catch((error) => say($("message"), `The page could not start: ${error}`));
