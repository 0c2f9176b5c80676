// The program digest for internal communications (issue #16): one pure function, data in, { html, markdown } out,
// so it is tested in node without a browser. It names only the members of pairs whose two members both shared
// their reflection (the stories sessions returns); every other figure is a count. Names, reflections and topics
// are people's own words: everything is escaped, so none of it can add markup to either document.

export const SMALL_GROUP = 5;
const TOP_TOPICS = 10;
const ROLES = { mentor: "Mentors", mentee: "Mentees", both: "Both roles" };
const HEADLINES = [
  ["Participants enrolled", (r) => r.participants?.enrolled],
  ["Pairs formed", (r) => r.pairs?.formed],
  ["Pairs completed", (r) => r.partnerships?.completed],
  ["Sessions held", (r) => r.sessions?.total],
  ["Average rating (1 to 5)", (r) => r.ratings?.overall?.average],
  ["Would recommend", (r) => share(r.partnerships?.would_recommend_rate)],
];

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(value) {
  return String(value ?? "").replace(
    /[&<>"'`]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" })[c],
  );
}

/** Escape text for Markdown: one line (no new block can start), every character Markdown or HTML would read as
 * syntax backslash-escaped (CommonMark treats a backslash before any ASCII punctuation as that character). */
export function escapeMarkdown(value) {
  return String(value ?? "")
    .replace(/\s+/g, " ")
    .trim()
    .replace(/[\\`*_{}\[\]()#+!|<>~&]/g, (c) => `\\${c}`);
}

function share(value) {
  return value === null || value === undefined ? null : `${Math.round(value * 100)}%`;
}

function figure(value) {
  if (value === null || value === undefined) return "not yet known";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2);
  return String(value);
}

/** A withheld cell (null): too few people, or one a total would give away (issue #19). */
function cell(count) {
  return count === null || count === undefined ? "withheld" : String(count);
}

function topTopics(counts) {
  return Object.entries(counts || {})
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_TOPICS);
}

/** A member of a told story, by name when enrolment gave one, else by side only (never by id). */
function teller(member, names) {
  const name = names?.[member.participant_id];
  return name ? name : member.side === "mentor" ? "A mentor" : "A leader (mentee)";
}

/**
 * @param {object} data
 * @param {object} data.report insights' program report (ProgramReport)
 * @param {Array} data.stories sessions' stories: pairs whose two members both shared
 * @param {object|null} data.leadersChanged sessions' leaders-changed answer (null: not available to this reader)
 * @param {object} data.names participant id -> display name; only story members' names are used
 * @returns {{html: string, markdown: string}}
 */
export function renderDigest({ report, stories = [], leadersChanged = null, names = {} }) {
  const tellers = new Set(stories.flatMap((s) => [s.mentor.participant_id, s.mentee.participant_id]));
  const named = Object.fromEntries(Object.entries(names || {}).filter(([id]) => tellers.has(id)));
  const asOf = String(report.as_of || "").slice(0, 10);
  const headlines = HEADLINES.map(([label, get]) => [label, figure(get(report))]);
  const targets = (report.targets || []).map((t) => [t.name, figure(t.target), figure(t.actual), share(t.progress) ?? "—"]);
  // In reverse mentoring the junior mentor teaches the senior mentee: mentor_to_mentee is what leaders learned.
  const ledger = {
    "Leaders learned from their mentors": topTopics(report.learning_ledger?.mentor_to_mentee),
    "Mentors learned from their leaders": topTopics(report.learning_ledger?.mentee_to_mentor),
  };
  const recognition = report.recognition || {};
  const trained = Object.entries(ROLES).map(([role, label]) => [label, cell(recognition.trained_by_role?.[role])]);
  const counts = [
    ["Certificates issued", figure(recognition.certificates_issued ?? 0)],
    ["Kudos given", figure(recognition.kudos_given ?? 0)],
    ["Stories shared by both partners", figure(recognition.stories_shared ?? 0)],
  ];
  const changed = leadersChanged && !leadersChanged.suppressed ? leadersChanged.changed : null;
  const told = stories.map((s) => ({
    mentor: teller(s.mentor, named),
    mentee: teller(s.mentee, named),
    words: [s.mentor, s.mentee].map((m) => ({ who: teller(m, named), side: m.side, learned: m.learned, changed: m.changed })),
  }));
  const parts = { title: report.title, asOf, headlines, targets, ledger, trained, counts, changed, told };
  return { html: toHtml(parts), markdown: toMarkdown(parts) };
}

function toHtml({ title, asOf, headlines, targets, ledger, trained, counts, changed, told }) {
  const h = escapeHtml;
  const rows = (pairs) => pairs.map((r) => `<tr>${r.map((c, i) => (i ? `<td>${h(c)}</td>` : `<th scope="row">${h(c)}</th>`)).join("")}</tr>`).join("\n");
  const out = [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${h(title)}: program digest</title>`,
    "<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;line-height:1.5;padding:0 1rem}" +
      "table{border-collapse:collapse}th,td{text-align:left;padding:.2rem .8rem .2rem 0}blockquote{margin:.3rem 0 .8rem 1rem;color:#333}</style>",
    "</head><body>",
    `<h1>${h(title)}: program digest</h1>`,
    `<p>Figures as of ${h(asOf)}. People are named only where both partners chose to share their story; groups of fewer than ${SMALL_GROUP} are not shown.</p>`,
    "<h2>Headline figures</h2>",
    `<table><tbody>\n${rows(headlines)}\n</tbody></table>`,
  ];
  if (targets.length) {
    out.push(
      "<h3>Against our targets</h3>",
      `<table><thead><tr><th>Target</th><th>Aim</th><th>Actual</th><th>Progress</th></tr></thead><tbody>\n${rows(targets)}\n</tbody></table>`,
    );
  }
  out.push("<h2>Two-way learning</h2>");
  for (const [heading, topics] of Object.entries(ledger)) {
    out.push(`<h3>${h(heading)}</h3>`);
    out.push(topics.length ? `<ul>${topics.map(([t, n]) => `<li>${h(t)} (${h(n)})</li>`).join("")}</ul>` : "<p>Nothing logged yet.</p>");
  }
  out.push(
    "<h2>Recognition</h2>",
    "<h3>Completed training, by role</h3>",
    `<table><tbody>\n${rows(trained)}\n</tbody></table>`,
    `<table><tbody>\n${rows(counts)}\n</tbody></table>`,
    "<h2>What leaders said they changed</h2>",
  );
  out.push(
    changed
      ? `<ul>${changed.map((c) => `<li>${h(c)}</li>`).join("")}</ul>`
      : `<p>Fewer than ${SMALL_GROUP} leaders shared what they changed: not shown.</p>`,
  );
  out.push("<h2>Stories</h2>");
  if (!told.length) out.push("<p>No pair has shared its story yet.</p>");
  for (const story of told) {
    out.push(`<article class="story"><h3>${h(story.mentor)} and ${h(story.mentee)}</h3>`);
    for (const w of story.words) {
      out.push(`<p><strong>${h(w.who)}</strong> (${h(w.side)}) learned:</p><blockquote>${h(w.learned)}</blockquote>`);
      out.push(`<p>…and changed:</p><blockquote>${h(w.changed)}</blockquote>`);
    }
    out.push("</article>");
  }
  out.push("</body></html>", "");
  return out.join("\n");
}

function toMarkdown({ title, asOf, headlines, targets, ledger, trained, counts, changed, told }) {
  const m = escapeMarkdown;
  const table = (header, body) => [
    `| ${header.map(m).join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...body.map((r) => `| ${r.map(m).join(" | ")} |`),
    "",
  ];
  const out = [
    `# ${m(title)}: program digest`,
    "",
    `Figures as of ${m(asOf)}. People are named only where both partners chose to share their story; groups of fewer than ${SMALL_GROUP} are not shown.`,
    "",
    "## Headline figures",
    "",
    ...table(["Figure", "Value"], headlines),
  ];
  if (targets.length) out.push("### Against our targets", "", ...table(["Target", "Aim", "Actual", "Progress"], targets));
  out.push("## Two-way learning", "");
  for (const [heading, topics] of Object.entries(ledger)) {
    out.push(`### ${m(heading)}`, "", ...(topics.length ? topics.map(([t, n]) => `- ${m(t)} (${n})`) : ["Nothing logged yet."]), "");
  }
  out.push("## Recognition", "", "### Completed training, by role", "", ...table(["Role", "People"], trained));
  out.push(...table(["Recognition", "Count"], counts));
  out.push("## What leaders said they changed", "");
  out.push(...(changed ? changed.map((c) => `- ${m(c)}`) : [`Fewer than ${SMALL_GROUP} leaders shared what they changed: not shown.`]), "");
  out.push("## Stories", "");
  if (!told.length) out.push("No pair has shared its story yet.", "");
  for (const story of told) {
    out.push(`### ${m(story.mentor)} and ${m(story.mentee)}`, "");
    for (const w of story.words) {
      out.push(`**${m(w.who)}** (${w.side}) learned:`, "", `> ${m(w.learned)}`, "", "…and changed:", "", `> ${m(w.changed)}`, "");
    }
  }
  return out.join("\n");
}
