// The participant page: for a signed-in employee, my programs with the consent I gave, opting into an open
// program and my partner's introduction (enrolment API); the matches proposed to me, to accept or decline
// (matching API); then my pairs (sessions API), why we were matched (matching API), our two-way agreement to
// write and sign with its progress per goal, my sessions, log a session (with an Idempotency-Key, so a retried
// click never logs it twice) naming the goals it advanced, give feedback, and complete the pair with a closing
// reflection (sessions API). People see each other's names, never pseudonyms. The training each program asks of me:
// what is left to do, a module to read and its knowledge check to answer (enrolment API, issue #16).
import { ApiError, api, claims, el, fmt, getJson, postJson, say, signedInWithProvider, startSignIn, table, uuid } from "./common.js";
import { showRecognition } from "./recognition.js";

const BASE = new URL(".", location.href).href.replace(/\/$/, "");
const $ = (id) => document.getElementById(id);
const state = {
  matching: "", sessions: "", enrolment: "", me: "", mine: new Set(), pairs: [], pair: null, pending: null,
  named: false, // signed in as an employee: partners are shown by name
  partners: new Map(), // pair id -> the partner's introduction (GET /me/partners)
  consent: null, // the wording shown in the opt-in form, as served
  training: null, // the module being read: { programId, moduleId }
  generation: 0,
};
const ROLE = { mentor: "mentor", mentee: "mentee", both: "mentor or mentee" };
const DIRECTION = {
  mentor_to_mentee: "The mentee learned from the mentor",
  mentee_to_mentor: "The mentor learned from the mentee",
  both: "Both learned",
};
const GOAL_DIRECTION = {
  mentor_to_mentee: "The mentee learns from the mentor",
  mentee_to_mentor: "The mentor learns from the mentee",
};
const DECLINE_REASONS = {
  no_time: "I have no time for it now",
  not_a_fit: "We do not seem a good fit",
  prefer_someone_else: "I would prefer someone else",
  other: "Another reason",
};
const ANSWER = { accepted: "accepted", declined: "declined" };
const PAIR_POLLS = 20; // after an acceptance starts a pair, how many times to look for it (sessions learns it from events)

async function start() {
  const config = await (await fetch(`${BASE}/web/config.json`)).json();
  state.matching = config.matching_url;
  state.sessions = config.sessions_url;
  state.enrolment = config.enrolment_url;
  $("held-on").value = localToday();
  $("held-on").max = localToday();
  $("pair").addEventListener("change", () => showPair($("pair").value));
  $("log-form").addEventListener("submit", logSession);
  $("feedback-form").addEventListener("submit", giveFeedback);
  $("opt-in-program").addEventListener("change", () => showConsent($("opt-in-program").value));
  $("opt-in-form").addEventListener("submit", optIn);
  $("agreement-form").addEventListener("submit", writeAgreement);
  $("add-goal").addEventListener("click", () => addGoalRow());
  $("sign-agreement").addEventListener("click", signAgreement);
  $("completion-form").addEventListener("submit", complete);
  $("training-check").addEventListener("submit", checkTraining);
  await startSignIn(config, connect);
}

async function connect() {
  const generation = ++state.generation;
  $("content").hidden = true;
  $("enrolment").hidden = true;
  const who = claims();
  if (!who) {
    return say(
      $("message"),
      signedInWithProvider()
        ? "Sign in above to see your programs and your pair."
        : "Paste your participant token above to see your pair.",
      "info",
    );
  }
  if (!(who.roles || []).includes("participant")) {
    return say(
      $("message"),
      el(
        "div",
        {},
        el("h2", { text: "This page is for participants" }),
        el("p", {
          text: signedInWithProvider()
            ? "You are not signed in as a participant of a mentoring program."
            : "This token is not a participant's. Paste the token you were given as a participant.",
        }),
        el("p", {}, "Program admins and auditors: see ", el("a", { href: "dashboard", text: "the program dashboard" }), "."),
      ),
    );
  }
  // A token with an employee id is a person's own: they opt in themselves and meet their partner by name. A
  // pasted development token without one is a bare participant id, as before.
  state.named = Boolean(who.employee_id);
  state.me = who.sub;
  say($("message"), null);
  if (state.named) {
    const me = await showEnrolment();
    if (generation !== state.generation || !me) return;
    state.me = me.participant_id || who.sub;
  }
  await Promise.all([showProposals(), showPairs()]);
}

// ------------------------------------------------------------------------------------------ proposals

async function showProposals() {
  let proposals;
  try {
    proposals = await getJson(`${state.matching}/me/proposals`);
  } catch (error) {
    $("proposals").hidden = false;
    return say($("proposal-list"), `Could not load the matches proposed to you: ${error.message}`);
  }
  $("proposals").hidden = !proposals.length;
  const answer = (value) => (value ? ANSWER[value] || value : "not answered yet");
  $("proposal-list").replaceChildren(
    ...proposals.map((p) => {
      const open = p.my_answer === null;
      const reason = el(
        "select",
        { id: `decline-reason-${p.pair_id}`, name: "reason_code" },
        Object.entries(DECLINE_REASONS).map(([code, text]) => el("option", { value: code, text })),
      );
      const words = el("textarea", { id: `decline-words-${p.pair_id}`, rows: "2", maxlength: "500" });
      return el(
        "article",
        { class: "proposal", "data-proposal": p.pair_id },
        el("h3", { text: `As ${p.my_role}: a proposed ${p.my_role === "mentor" ? "mentee" : "mentor"}` }),
        el(
          "p",
          { class: "summary" },
          p.acceptance_mode === "both" ? "The pair starts when both of you accept. " : "The pair starts when one of you accepts. ",
          `Answer by ${fmt.dateTime(p.expires_at)}.`,
        ),
        el("p", { "data-field": "answers", text: `My answer: ${answer(p.my_answer)}. My partner's: ${answer(p.partner_answer)}.` }),
        open
          ? el(
              "div",
              { class: "stack" },
              el("div", {}, el("button", { type: "button", "data-action": "accept", onclick: () => answerProposal(p, "accept") }, "Accept")),
              el(
                "details",
                {},
                el("summary", { text: "Decline" }),
                el("div", { class: "field" }, el("label", { for: reason.id, text: "Why (only the category is counted)" }), reason),
                el("div", { class: "field" }, el("label", { for: words.id, text: "In my own words (private, optional)" }), words),
                el("button", { type: "button", class: "secondary", "data-action": "decline", onclick: () => answerProposal(p, "decline") }, "Decline this match"),
              ),
            )
          : null,
      );
    }),
  );
}

async function answerProposal(proposal, action) {
  const id = encodeURIComponent(proposal.pair_id);
  const body =
    action === "decline"
      ? { reason_code: $(`decline-reason-${proposal.pair_id}`).value, reason: $(`decline-words-${proposal.pair_id}`).value }
      : undefined;
  try {
    const answered = await postJson(`${state.matching}/proposals/${id}/${action}`, body ?? {});
    if (action === "decline") {
      say($("proposal-result"), "You declined the match. You are back in the pool for the next round.", "ok");
    } else {
      say(
        $("proposal-result"),
        answered.started ? "You accepted: your pair has started." : "You accepted: the pair starts when your partner accepts too.",
        "ok",
      );
    }
    await showProposals();
    if (answered?.started) await waitForPair(proposal.pair_id);
  } catch (error) {
    say($("proposal-result"), `Your answer was not recorded: ${error.message}`);
  }
}

/** Sessions learns of a new pair from matching's events: look for it a few times before showing it. */
async function waitForPair(pairId) {
  for (let attempt = 0; attempt < PAIR_POLLS; attempt += 1) {
    await showPairs(pairId);
    if (state.pairs.some((p) => p.pair_id === pairId)) return;
    await new Promise((resolve) => setTimeout(resolve, 1500));
  }
}

/** My pairs in every program. A person has one id per program (ADR 0011): sessions' GET /me names mine in each of my
 * pairs, and each id's pairs come whole from /participants/{id}/pairs. */
async function myPairs() {
  const me = await getJson(`${state.sessions}/me`);
  state.mine = new Set([state.me, ...me.pairs.map((p) => p.my_participant_id)]);
  const lists = await Promise.all(
    [...state.mine].map((id) => getJson(`${state.sessions}/participants/${encodeURIComponent(id)}/pairs`)),
  );
  const byId = new Map(lists.flat().map((p) => [p.pair_id, p]));
  const formed = (p) => p.formed_at || "";
  return [...byId.values()].sort((a, b) => formed(a).localeCompare(formed(b)) || a.pair_id.localeCompare(b.pair_id));
}

async function showPairs(preferred = null) {
  try {
    state.pairs = await myPairs();
  } catch (error) {
    return say($("message"), error.message);
  }
  if (!state.pairs.length) {
    return say($("message"), "You are not in a pair yet. Pairs are formed in matching rounds: come back after the next one.", "info");
  }
  say($("message"), null);
  const current =
    state.pairs.find((p) => p.pair_id === preferred) ||
    [...state.pairs].reverse().find((p) => p.status === "active") ||
    state.pairs.at(-1);
  $("pair").replaceChildren(
    ...state.pairs.map((p) =>
      el("option", { value: p.pair_id }, `${partnerOf(p)} — ${p.status}${state.named ? "" : ` (${p.pair_id})`}`),
    ),
  );
  $("pair").value = current.pair_id;
  $("content").hidden = false;
  showPair(current.pair_id);
}

const isMe = (participantId) => participantId === state.me || state.mine.has(participantId);
const sideOf = (pair) => (isMe(pair.mentor_id) ? "mentor" : "mentee");
/** The partner's name when enrolment introduced them; a pasted development token sees the pseudonym. */
function partnerName(pair) {
  const known = state.partners.get(pair.pair_id);
  if (known) return known.partner.display_name;
  if (state.named) return "(not introduced yet)";
  return sideOf(pair) === "mentor" ? pair.mentee_id : pair.mentor_id;
}
const partnerOf = (pair) => `${sideOf(pair) === "mentor" ? "My mentee" : "My mentor"} ${partnerName(pair)}`;

// ------------------------------------------------------------------------------------------ enrolment

/** My programs, the programs I may join and my partners; the person's GET /me, or null when it failed. */
async function showEnrolment() {
  const base = state.enrolment;
  let me, programs, partners;
  try {
    [me, programs, partners] = await Promise.all([
      getJson(`${base}/me`),
      getJson(`${base}/programs`),
      getJson(`${base}/me/partners`),
    ]);
  } catch (error) {
    say($("message"), `Could not load your programs: ${error.message}`);
    return null;
  }
  state.partners = new Map(partners.map((p) => [p.pair_id, p]));
  showPartners(partners);
  showMyPrograms(me);
  await showTraining(me);
  const joined = new Set(me.enrolments.filter((e) => e.status !== "withdrawn").map((e) => e.program_id));
  const open = programs.filter((p) => !joined.has(p.program_id));
  const invited = new Set(me.invitations.map((i) => i.program_id));
  open.sort((a, b) => Number(invited.has(b.program_id)) - Number(invited.has(a.program_id)));
  showOpenPrograms(open, invited, me.in_roster);
  $("enrolment").hidden = false;
  showRecognition(base, partners); // my certificates and kudos (issue #16): not awaited, the pair need not wait
  return me;
}

// ------------------------------------------------------------------------------------------- training

/** Per program I take part in, its modules for me: done (which version), required or optional, and "Read". */
async function showTraining(me) {
  const active = me.enrolments.filter((e) => e.status === "active");
  if (!active.length) {
    return $("training-list").replaceChildren(el("p", { class: "empty", text: "Training opens once you take part in a program." }));
  }
  let plans;
  try {
    plans = await Promise.all(active.map((e) => getJson(`${state.enrolment}/programs/${encodeURIComponent(e.program_id)}/training`)));
  } catch (error) {
    return say($("training-list"), `Could not load your training: ${error.message}`);
  }
  const status = (m) =>
    m.completed_version !== null ? `Done (version ${m.completed_version})` : m.required ? "Required before matching" : "Optional";
  $("training-list").replaceChildren(
    ...plans.map((plan, i) =>
      el(
        "div",
        { class: "training-program", "data-training": plan.program_id },
        el("h3", { text: active[i].title }),
        el("p", {
          "data-field": "left-to-do",
          text: plan.left_to_do.length
            ? `Left to do before matching: ${plan.left_to_do.length} module${plan.left_to_do.length > 1 ? "s" : ""}.`
            : "Nothing left to do before matching.",
        }),
        table(
          `Training modules of ${active[i].title}`,
          ["Module", "Minutes", "Status", ""],
          plan.modules.map((m) => [
            m.title,
            String(m.minutes),
            el("span", { "data-status": m.module_id, text: status(m) }),
            el("button", {
              type: "button",
              class: "secondary",
              "data-read": m.module_id,
              text: m.completed_version !== null ? "Read again" : "Read",
              onclick: () => readModule(plan.program_id, m.module_id),
            }),
          ]),
        ),
      ),
    ),
  );
}

/** A module's text (its Markdown shown as headings, lists and paragraphs, as text: never as HTML) and its check. */
async function readModule(programId, moduleId) {
  let module;
  try {
    module = await getJson(`${state.enrolment}/programs/${encodeURIComponent(programId)}/training/${encodeURIComponent(moduleId)}`);
  } catch (error) {
    return say($("training-result"), `Could not load the module: ${error.message}`);
  }
  state.training = { programId, moduleId };
  $("training-module-title").textContent = `${module.title} · ${module.minutes} minutes`;
  $("training-body").replaceChildren(...markdownBlocks(module.body));
  $("training-questions").replaceChildren(
    ...module.check.map((q) =>
      el(
        "fieldset",
        { "data-question": q.id },
        el("legend", { text: q.prompt }),
        el(
          "div",
          { class: "choices" },
          q.choices.map((c) =>
            el("label", {}, el("input", { type: q.multiple ? "checkbox" : "radio", name: q.id, value: c.id }), ` ${c.text}`),
          ),
        ),
      ),
    ),
  );
  $("training-result").replaceChildren();
  $("training-module").hidden = false;
  $("training-module-title").scrollIntoView({ block: "start" });
}

function markdownBlocks(markdown) {
  const inline = (text) => text.replace(/\*\*(.+?)\*\*/g, "$1").replace(/\*(.+?)\*/g, "$1");
  return markdown
    .trim()
    .split(/\n\s*\n/)
    .map((block) => {
      const raw = block.split("\n");
      const lines = raw.map((l) => l.trim());
      const heading = /^(#{1,4})\s+(.*)$/.exec(lines[0]);
      if (heading && lines.length === 1) return el(`h${Math.min(heading[1].length + 2, 6)}`, { text: inline(heading[2]) });
      // A list: every line an item ("- ", "* ", "1. ") or an item's indented continuation.
      if (/^([-*]|\d+\.)\s+/.test(raw[0]) && raw.every((l) => /^\s*([-*]|\d+\.)\s+/.test(l) || /^\s+\S/.test(l))) {
        const ordered = /^\d+\./.test(lines[0]);
        const items = block.split(/\n(?=\s*(?:[-*]|\d+\.)\s+)/).map((i) => i.replace(/^\s*(?:[-*]|\d+\.)\s+/, "").replace(/\s+/g, " "));
        return el(ordered ? "ol" : "ul", {}, items.map((i) => el("li", { text: inline(i) })));
      }
      return el("p", { text: inline(lines.join(" ")) });
    });
}

async function checkTraining(event) {
  event.preventDefault();
  const { programId, moduleId } = state.training;
  const answers = {};
  for (const fieldset of $("training-questions").querySelectorAll("fieldset")) {
    answers[fieldset.dataset.question] = [...fieldset.querySelectorAll("input:checked")].map((i) => i.value);
  }
  const url = `${state.enrolment}/programs/${encodeURIComponent(programId)}/training/${encodeURIComponent(moduleId)}/check`;
  let outcome;
  try {
    outcome = await postJson(url, { answers });
  } catch (error) {
    return say($("training-result"), `Could not check your answers: ${error.message}`);
  }
  const right = `${outcome.score} of ${outcome.questions} right`;
  if (outcome.passed) {
    say($("training-result"), `Passed: ${right}. The module is done.`, "ok");
  } else {
    const wrong = outcome.wrong.map((id) => $("training-questions").querySelector(`[data-question="${id}"] legend`)?.textContent || id);
    say($("training-result"), `${right}; ${outcome.pass_mark} needed. Read again and retry: ${wrong.join(" / ")}`, "info");
  }
  const me = await getJson(`${state.enrolment}/me`);
  await showTraining(me);
}

function showPartners(partners) {
  if (!partners.length) {
    return $("partners").replaceChildren(
      el("p", { class: "empty", text: "No partner yet: you will be introduced here after the next matching round." }),
    );
  }
  $("partners").replaceChildren(
    ...partners.map(({ partner, formed_at }) =>
      el(
        "dl",
        { class: "partner", "data-partner": partner.participant_id },
        el("dt", { text: "Name" }),
        el("dd", { "data-field": "name", text: partner.display_name }),
        el("dt", { text: "E-mail" }),
        el("dd", {}, el("a", { href: `mailto:${partner.email}`, text: partner.email })),
        el("dt", { text: "Department" }),
        el("dd", { text: partner.department }),
        el("dt", { text: "Time zone" }),
        el("dd", { text: partner.time_zone }),
        el("dt", { text: "Their goals" }),
        el("dd", { text: partner.goals ?? "Not shared." }),
        el("dt", { text: "Paired since" }),
        el("dd", { text: fmt.date(formed_at) }),
      ),
    ),
  );
}

function showMyPrograms(me) {
  const consent = (c) =>
    c
      ? c.withdrawn_at
        ? `Consent withdrawn on ${fmt.date(c.withdrawn_at)}`
        : `Consent given: version ${c.version} on ${fmt.date(c.given_at)}`
      : "No consent recorded";
  const rows = [
    ...me.enrolments.map((e) => [e.title, e.status, el("span", { "data-consent": e.program_id, text: consent(e.consent) })]),
    ...me.invitations
      .filter((i) => !me.enrolments.some((e) => e.program_id === i.program_id))
      .map((i) => [i.title, `invited on ${fmt.date(i.invited_at)}`, "Not opted in yet"]),
  ];
  $("my-programs").replaceChildren(
    rows.length
      ? table("The programs I take part in or am invited to", ["Program", "Status", "Consent"], rows)
      : el("p", { class: "empty", text: "You take part in no program yet." }),
  );
}

function showOpenPrograms(open, invited, inRoster) {
  const form = $("opt-in-form");
  if (!inRoster) {
    form.hidden = true;
    return say($("no-open-program"), "You are not on the list of people eligible for the programs yet. Ask your HR team.", "info");
  }
  if (!open.length) {
    form.hidden = true;
    return say($("no-open-program"), "There is no other program to join right now.", "info");
  }
  say($("no-open-program"), null);
  const select = $("opt-in-program");
  const chosen = select.value;
  select.replaceChildren(
    ...open.map((p) => el("option", { value: p.program_id }, `${p.title}${invited.has(p.program_id) ? " (you are invited)" : ""}`)),
  );
  if (open.some((p) => p.program_id === chosen)) select.value = chosen;
  form.hidden = false;
  showConsent(select.value);
}

async function showConsent(programId) {
  state.consent = null;
  $("consent-text").textContent = "Loading…";
  $("consent-version").textContent = "";
  try {
    const consent = await getJson(`${state.enrolment}/programs/${encodeURIComponent(programId)}/consent`);
    if ($("opt-in-program").value !== programId) return; // another program chosen meanwhile: its wording stands
    state.consent = consent;
    $("consent-text").textContent = state.consent.text;
    $("consent-version").textContent = `(version ${state.consent.version})`;
  } catch (error) {
    $("consent-text").textContent = `Could not load the consent text: ${error.message}`;
  }
}

const list = (value) => String(value || "").split(",").map((t) => t.trim()).filter(Boolean);

async function optIn(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  if (!state.consent) return say($("opt-in-result"), "The consent text is not loaded: choose the program again.");
  const data = new FormData(form);
  const programId = data.get("program_id");
  const title = $("opt-in-program").selectedOptions[0]?.textContent || "the program";
  // The hash of the wording shown: the service refuses it when the program's wording changed meanwhile.
  const body = {
    consent_sha256: state.consent.sha256,
    role: data.get("role"),
    skills_offered: list(data.get("skills_offered")),
    skills_wanted: list(data.get("skills_wanted")),
    focus_areas: [],
    goals: String(data.get("goals") || ""),
    share_goals: $("share-goals").checked,
    communication_style: "",
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const created = await postJson(`${state.enrolment}/programs/${encodeURIComponent(programId)}/enrolments`, body);
    form.reset();
    await showEnrolment();
    say(
      $("opt-in-result"),
      `You take part in ${title} as ${ROLE[body.role]}. Consent given: version ${created.consent.version} on ${fmt.date(created.consent.given_at)}.`,
      "ok",
    );
  } catch (error) {
    say($("opt-in-result"), `You were not enrolled: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function showPair(pairId) {
  state.pair = state.pairs.find((p) => p.pair_id === pairId);
  state.pending = null;
  const pair = state.pair;
  const me = state.named ? "I am" : `I am ${state.me},`;
  $("who").textContent =
    sideOf(pair) === "mentor"
      ? `${me} the mentor of ${partnerName(pair)}: I share what I know with a more senior colleague.`
      : `${me} the mentee of ${partnerName(pair)}: a more junior colleague shares what they know with me.`;
  const ended = pair.status !== "active";
  $("log-fields").disabled = ended;
  say($("log-result"), ended ? `This pair is ${pair.status}: no new sessions can be logged. Feedback is still welcome.` : null, "info");
  say($("feedback-result"), null);
  say($("agreement-result"), null);
  say($("completion-result"), null);
  await Promise.all([showWhy(pair), showSessions(pair), showAgreement(pair), showCompletion(pair)]);
}

// ------------------------------------------------------------------------------------------ agreement

const mine = (participantId) => (isMe(participantId) ? "me" : "my partner");

async function showAgreement(pair) {
  let agreement;
  try {
    agreement = await getJson(`${state.sessions}/pairs/${encodeURIComponent(pair.pair_id)}/agreement`);
  } catch (error) {
    return say($("agreement-status"), `Could not load the agreement: ${error.message}`);
  }
  if (state.pair?.pair_id !== pair.pair_id) return;
  state.agreement = agreement;
  const signedByMe = agreement.signed_by.some(isMe);
  const status = {
    none: "No agreement yet: write one below, then both of you sign it.",
    awaiting_signatures: `Version ${agreement.version} awaits signatures: signed by ${agreement.signed_by.length ? agreement.signed_by.map(mine).join(" and ") : "no one yet"}.`,
    in_force: `In force: version ${agreement.in_force_version}, signed by both of you${agreement.ends_on ? `, until ${fmt.date(agreement.ends_on)}` : ""}.`,
  }[agreement.status];
  const earlier =
    agreement.status === "awaiting_signatures" && agreement.in_force_version
      ? ` Version ${agreement.in_force_version} stays in force until both sign the new one.`
      : "";
  $("agreement-status").replaceChildren(el("p", { "data-agreement-status": agreement.status, text: status + earlier }));
  const words = new Map(agreement.goals.map((g) => [g.goal_id, g]));
  $("agreement").replaceChildren(
    agreement.version
      ? el(
          "div",
          {},
          table(
            `Version ${agreement.version}: our goals`,
            ["Goal", "Direction", "Written by"],
            agreement.goals.map((g) => [g.text ?? "", GOAL_DIRECTION[g.direction], mine(g.written_by)]),
          ),
          el("p", {
            class: "summary",
            text: `We meet every ${agreement.cadence_days} days for ${agreement.duration_weeks} weeks. Confidentiality: ${agreement.confidentiality}${agreement.confidentiality_note ? ` — ${agreement.confidentiality_note}` : ""}.`,
          }),
          agreement.progress.length
            ? table(
                "Progress per goal (agreement in force)",
                ["Goal", "Direction", "Sessions that advanced it", "Last advanced"],
                agreement.progress.map((g) => [words.get(g.goal_id)?.text ?? g.goal_id, GOAL_DIRECTION[g.direction], fmt.int(g.sessions), fmt.date(g.last_advanced_on)]),
                { numeric: [2] },
              )
            : null,
        )
      : null,
  );
  const active = pair.status === "active";
  $("sign-agreement").hidden = !(active && agreement.status === "awaiting_signatures" && !signedByMe);
  $("sign-agreement").textContent = `Sign version ${agreement.version}`;
  $("agreement-editor").hidden = !active;
  $("agreement-editor-summary").textContent = agreement.version ? "Change our agreement" : "Write our agreement";
  fillAgreementForm(agreement);
  showAdvancedGoals(agreement);
}

function fillAgreementForm(agreement) {
  $("goal-rows").replaceChildren();
  const goals = agreement.goals.length
    ? agreement.goals
    : [{ direction: "mentor_to_mentee", text: "" }, { direction: "mentee_to_mentor", text: "" }];
  goals.forEach((g) => addGoalRow(g));
  $("agreement-cadence").value = agreement.cadence_days ?? "";
  $("agreement-duration").value = agreement.duration_weeks ?? "";
  $("agreement-confidentiality").value = agreement.confidentiality ?? "standard";
  $("agreement-note").value = agreement.confidentiality_note ?? "";
}

function addGoalRow(goal = { direction: "mentor_to_mentee", text: "" }) {
  const n = $("goal-rows").children.length + 1;
  if (n > 20) return;
  const direction = el(
    "select",
    { id: `goal-direction-${n}`, "data-goal": "direction" },
    Object.entries(GOAL_DIRECTION).map(([value, text]) => el("option", { value, text })),
  );
  direction.value = goal.direction;
  const text = el("input", { id: `goal-text-${n}`, type: "text", maxlength: "500", required: "", "data-goal": "text" });
  text.value = goal.text ?? "";
  const row = el(
    "div",
    { class: "goal-row", "data-goal-id": goal.goal_id || "" },
    el("div", { class: "field" }, el("label", { for: text.id, text: `Goal ${n}` }), text),
    el("div", { class: "field" }, el("label", { for: direction.id, text: "Who learns" }), direction),
    el("button", { type: "button", class: "secondary", onclick: () => row.remove() }, `Remove goal ${n}`),
  );
  $("goal-rows").append(row);
}

async function writeAgreement(event) {
  event.preventDefault();
  const form = event.target;
  if (!form.reportValidity()) return;
  const goals = [...$("goal-rows").children].map((row) => ({
    ...(row.dataset.goalId ? { goal_id: row.dataset.goalId } : {}),
    direction: row.querySelector("[data-goal=direction]").value,
    text: row.querySelector("[data-goal=text]").value.trim(),
  }));
  const body = {
    goals,
    cadence_days: Number($("agreement-cadence").value),
    duration_weeks: Number($("agreement-duration").value),
    confidentiality: $("agreement-confidentiality").value,
    confidentiality_note: $("agreement-note").value,
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const changed = await api(`${state.sessions}/pairs/${encodeURIComponent(state.pair.pair_id)}/agreement`, { method: "PUT", body });
    $("agreement-editor").open = false;
    await showAgreement(state.pair);
    say($("agreement-result"), null);
    say($("agreement-status"), `Version ${changed.agreement.version} proposed. Both of you now sign it.`, "ok");
  } catch (error) {
    say($("agreement-result"), `The agreement was not saved: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function signAgreement() {
  const version = state.agreement?.version;
  const button = $("sign-agreement");
  button.disabled = true;
  try {
    await postJson(`${state.sessions}/pairs/${encodeURIComponent(state.pair.pair_id)}/agreement/sign`, { version });
    await showAgreement(state.pair);
  } catch (error) {
    say($("agreement-result"), `Your signature was not recorded: ${error.message}`);
    $("agreement-editor").open = true;
  } finally {
    button.disabled = false;
  }
}

/** The log form names the goals of the agreement in force (their words from the latest version, when kept). */
function showAdvancedGoals(agreement) {
  const words = new Map(agreement.goals.map((g) => [g.goal_id, g.text]));
  const goals = agreement.in_force_version ? agreement.progress : [];
  $("advanced-goals").hidden = !goals.length;
  $("advanced-goal-choices").replaceChildren(
    ...goals.map((g) =>
      el("label", {}, el("input", { type: "checkbox", name: "goals_advanced", value: g.goal_id }), ` ${words.get(g.goal_id) || g.goal_id}`),
    ),
  );
}

// ------------------------------------------------------------------------------------------ completion

async function showCompletion(pair) {
  let completion;
  try {
    completion = await getJson(`${state.sessions}/pairs/${encodeURIComponent(pair.pair_id)}/completion`);
  } catch (error) {
    return say($("completion"), `Could not load the completion: ${error.message}`);
  }
  if (state.pair?.pair_id !== pair.pair_id) return;
  const reflected = completion.reflections.some((r) => isMe(r.participant_id));
  const running = pair.status === "active" && completion.status === "active";
  const asked = completion.requested_by.map(mine);
  const summary = running
    ? `${completion.ends_on ? `Our partnership ends by itself on ${fmt.date(completion.ends_on)}. ` : ""}${asked.length ? `Completion asked by ${asked.join(" and ")}: it completes when both of you ask.` : "Either of you may ask to complete it earlier; it completes when both ask."}`
    : completion.completed_on
      ? `Completed on ${fmt.date(completion.completed_on)} (${completion.completed_by === "schedule" ? "at its agreed end" : completion.completed_by === "admin" ? "by the program admin" : "as both of you asked"}).`
      : `This pair is ${pair.status}.`;
  $("completion").replaceChildren(
    el("p", { "data-completion-status": completion.status, text: summary }),
    completion.reflections.length
      ? table(
          "Closing reflections",
          ["By", "What I learned", "What I changed", "Would recommend"],
          completion.reflections.map((r) => [mine(r.participant_id), r.learned ?? "", r.changed ?? "", r.would_recommend ? "yes" : "no"]),
        )
      : null,
  );
  $("completion-form").hidden = reflected || pair.status === "dissolved";
  $("completion-submit").textContent = running ? "Send my reflection and ask to complete" : "Send my reflection";
}

async function complete(event) {
  event.preventDefault();
  const form = event.target;
  const body = {
    learned: $("reflection-learned").value,
    changed: $("reflection-changed").value,
    would_recommend: $("would-recommend").checked,
  };
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await postJson(`${state.sessions}/pairs/${encodeURIComponent(state.pair.pair_id)}/completion`, body);
    form.reset();
    say($("completion-result"), "Thank you: your reflection was recorded.", "ok");
    await showCompletion(state.pair);
  } catch (error) {
    say($("completion-result"), `Your reflection was not recorded: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function showWhy(pair) {
  try {
    const explained = await getJson(`${state.matching}/pairs/${encodeURIComponent(pair.pair_id)}`);
    // Another pair chosen while this one loaded: its answer, arriving later, must not overwrite the other's.
    if (state.pair?.pair_id !== pair.pair_id) return;
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
    if (state.pair?.pair_id !== pair.pair_id) return;
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
  const advanced = data.getAll("goals_advanced").map(String);
  if (advanced.length) body.goals_advanced = advanced;
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
    await Promise.all([showSessions(state.pair), showAgreement(state.pair)]);
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
