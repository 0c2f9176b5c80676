"""A completion certificate as a PDF (fpdf2), made on request from what enrolment keeps: nothing is stored but the
certificate's row, so an erasure or a corrected name is reflected the next time it is downloaded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from services.enrolment.domain.recognition import SkillFlow

# DejaVu Sans covers the names people have (fonts-dejavu-core in Debian); without it the PDF falls back to a core
# font, which knows Latin-1 only, and other characters print as "?".
UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
ROLE_NAMES = {"mentor": "mentor", "mentee": "mentee"}


@dataclass(frozen=True)
class CertificateText:
    """Everything the certificate says."""

    holder: str
    partner: str
    role: str
    program_title: str
    completed_on: date
    verification_code: str
    taught: SkillFlow  # what the holder taught the partner
    learned: SkillFlow  # what the holder learned from the partner


def render(text: CertificateText) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Certificate of completion: {text.program_title}")
    pdf.set_creator("Tandem")
    family = _font(pdf)
    clean = (lambda s: s) if family != "Helvetica" else _latin1
    pdf.add_page()

    def line(words: str, size: float = 11, height: float = 7, align: str = "L") -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, clean(words), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.ln(12)
    line("Certificate of completion", size=24, height=12, align="C")
    pdf.ln(6)
    line("This certifies that", size=12, align="C")
    line(text.holder, size=20, height=11, align="C")
    line(
        f"completed the reverse-mentoring program \u201c{text.program_title}\u201d as {ROLE_NAMES[text.role]}, "
        f"with {text.partner}, on {text.completed_on.isoformat()}.",
        size=12,
        align="C",
    )
    pdf.ln(8)
    for heading, flow in (
        (f"What {text.holder} taught {text.partner}", text.taught),
        (f"What {text.holder} learned from {text.partner}", text.learned),
    ):
        line(heading, size=14, height=9)
        line(f"Skills from their profiles (offered by one, wanted by the other): {_listed(flow.from_profiles)}")
        line(f"Topics of their sessions, logged in this direction: {_listed(flow.from_sessions)}")
        pdf.ln(4)
    pdf.ln(6)
    line(f"Verification code: {text.verification_code}", size=10)
    line("Anyone can check this certificate at /enrolment/v1/certificates/verify/<code>.", size=9)
    return bytes(pdf.output())


def _font(pdf: FPDF) -> str:
    for path in UNICODE_FONTS:
        if path.is_file():
            pdf.add_font("DejaVu", "", str(path))
            return "DejaVu"
    return "Helvetica"


def _latin1(text: str) -> str:
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    return text.encode("latin-1", "replace").decode("latin-1")


def _listed(labels: tuple[str, ...]) -> str:
    return ", ".join(labels) if labels else "none recorded"
