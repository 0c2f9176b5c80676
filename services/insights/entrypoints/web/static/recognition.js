// "My recognition" on the participant page (issue #16): my certificates, each downloaded as a PDF; the kudos my
// partners sent me; and a thank-you to a partner (enrolment API). A certificate is fetched with my token (a plain
// link would carry none), then handed to the browser as a file through a blob link.
import { api, el, fmt, getJson, postJson, say, table } from "./common.js";

const $ = (id) => document.getElementById(id);
const ROLE = { mentor: "mentor", mentee: "mentee" };

/** Show my certificates and kudos; `partners` are my pairs' introductions (GET /me/partners). */
export async function showRecognition(enrolment, partners) {
  let certificates, kudos;
  try {
    [certificates, kudos] = await Promise.all([getJson(`${enrolment}/me/certificates`), getJson(`${enrolment}/me/kudos`)]);
  } catch (error) {
    return say($("certificates"), `Could not load your recognition: ${error.message}`);
  }
  showCertificates(enrolment, certificates);
  showKudos(kudos.received);
  showKudosForm(enrolment, partners);
}

function showCertificates(enrolment, certificates) {
  if (!certificates.length) {
    return $("certificates").replaceChildren(
      el("p", { class: "empty", text: "No certificate yet: you receive one when your partnership is completed." }),
    );
  }
  $("certificates").replaceChildren(
    el(
      "ul",
      { class: "certificates" },
      certificates.map((c) =>
        el(
          "li",
          { "data-certificate": c.certificate_id },
          `${c.program_title}: as ${ROLE[c.role]} with ${c.partner_name ?? "a former participant"}, completed on ${fmt.date(c.completed_on)}. `,
          el("a", { href: "#", "data-action": "download", onclick: (event) => download(event, enrolment, c) }, "Download my certificate (PDF)"),
          el("span", { class: "hint", text: ` Verification code: ${c.verification_code}` }),
        ),
      ),
    ),
    el("div", { id: "certificate-result", role: "status" }),
  );
}

async function download(event, enrolment, certificate) {
  event.preventDefault();
  try {
    const response = await api(`${enrolment}/certificates/${encodeURIComponent(certificate.certificate_id)}.pdf`, {
      headers: { Accept: "application/pdf" },
    });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: `tandem-certificate-${certificate.certificate_id}.pdf`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (error) {
    say($("certificate-result"), `Could not download the certificate: ${error.message}`);
  }
}

function showKudos(received) {
  $("kudos-received").replaceChildren(
    received.length
      ? table(
          "Kudos my partners sent me",
          ["From", "Program", "Message", "On"],
          received.map((k) => [k.other_name ?? "a former participant", k.program_title, k.message, fmt.date(k.given_at)]),
        )
      : el("p", { class: "empty", text: "No kudos yet." }),
  );
}

function showKudosForm(enrolment, partners) {
  const form = $("kudos-form");
  form.hidden = !partners.length;
  $("kudos-pair").replaceChildren(
    ...partners.map((p) => el("option", { value: p.pair_id }, p.partner.display_name ?? p.partner.participant_id)),
  );
  form.onsubmit = async (event) => {
    event.preventDefault();
    const pairId = $("kudos-pair").value;
    try {
      const sent = await postJson(`${enrolment}/pairs/${encodeURIComponent(pairId)}/kudos`, { message: $("kudos-message").value });
      $("kudos-message").value = "";
      say($("kudos-result"), `Kudos sent to ${sent.kudos.other_name ?? "your partner"}.`, "ok");
    } catch (error) {
      say($("kudos-result"), `Your kudos were not sent: ${error.message}`);
    }
  };
}
