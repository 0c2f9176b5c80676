"""A deterministic, realistic organisation to enrol: departments with a head, managers and staff, so reporting
chains are real trees; juniors bring digital skills, seniors bring industry knowledge (seeds 001-003)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DEPARTMENTS = ["Technology", "Marketing", "Finance", "People", "Operations", "Sales", "Legal", "Research"]
FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Grace",
    "Hugo",
    "Ines",
    "Jon",
    "Kemi",
    "Liam",
    "Maya",
    "Noah",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xavi",
    "Yara",
    "Zoe",
]
LAST = [
    "Adams",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Larsen",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Patel",
    "Rossi",
    "Silva",
    "Tanaka",
    "Weber",
]
DIGITAL = [
    "social media",
    "generative AI",
    "data visualisation",
    "mobile-first design",
    "remote collaboration",
    "cloud tools",
    "short-form video",
    "online communities",
    "cybersecurity hygiene",
    "no-code automation",
]
INDUSTRY = [
    "strategy",
    "negotiation",
    "finance",
    "leadership",
    "stakeholder management",
    "regulation",
    "client relationships",
    "budgeting",
    "public speaking",
    "change management",
]
INCLUSION = ["diversity and inclusion", "neurodiversity", "accessibility", "generational perspectives"]
ZONES = ["Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "Asia/Singapore"]
STYLES = ["direct", "reflective", "visual", "conversational"]


@dataclass
class Person:
    employee_id: str
    display_name: str
    email: str
    department: str
    grade: int
    birth_year: int
    manager: str | None
    role: str = "mentor"
    chain: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    skills_offered: list[str] = field(default_factory=list)
    skills_wanted: list[str] = field(default_factory=list)
    focus_areas: list[str] = field(default_factory=list)
    time_zone: str = "Europe/London"
    communication_style: str = "direct"
    capacity: int = 1

    def roster_row(self) -> dict:
        """The person as HR's roster import has them (enrolment's `POST /roster`)."""
        return {
            "employee_id": self.employee_id,
            "display_name": self.display_name,
            "email": self.email,
            "department": self.department,
            "grade": self.grade,
            "manager_id": self.manager,
            "languages": self.languages,
            "time_zone": self.time_zone,
        }

    def enrolment(self) -> dict:
        return {
            "employee_id": self.employee_id,
            "display_name": self.display_name,
            "email": self.email,
            "role": self.role,
            "grade": self.grade,
            "birth_year": self.birth_year,
            "department": self.department,
            "time_zone": self.time_zone,
            "languages": self.languages,
            "reporting_chain": self.chain,
            "skills_offered": self.skills_offered,
            "skills_wanted": self.skills_wanted,
            "focus_areas": self.focus_areas,
            "goals": f"Learn {', '.join(self.skills_wanted[:2])}",
            "communication_style": self.communication_style,
            "capacity": self.capacity,
            "consent": True,
        }


def organisation(size: int = 200, seed: int = 7, id_prefix: str = "E") -> list[Person]:
    """`size` people in a tree per department: a head (grade 10), managers (7-8) and staff (1-6)."""
    rng = random.Random(seed)
    names = _unique_names(rng)
    people: list[Person] = []
    per_department = max(3, size // len(DEPARTMENTS))
    for d, department in enumerate(DEPARTMENTS):
        head = _person(names, f"{id_prefix}{d:02d}000", department, 10, rng.randint(1960, 1972), None)
        managers = [
            _person(
                names,
                f"{id_prefix}{d:02d}{m:03d}",
                department,
                rng.choice([7, 8]),
                rng.randint(1966, 1984),
                head.employee_id,
            )
            for m in range(1, 4)
        ]
        people += [head, *managers]
        for s in range(4, per_department):
            grade = rng.choice([1, 2, 2, 3, 3, 4, 5, 6])
            born = rng.randint(1995, 2004) if grade <= 3 else rng.randint(1982, 1995)
            people.append(
                _person(names, f"{id_prefix}{d:02d}{s:03d}", department, grade, born, rng.choice(managers).employee_id)
            )
    people = people[:size]
    by_id = {p.employee_id: p for p in people}
    for p in people:
        p.chain = _chain(p, by_id)
        _profile(rng, p)
    return people


def _unique_names(rng: random.Random):
    """Every full name once (a name then identifies one person, as erasure tests need), in a seeded order."""
    pairs = [(first, last) for first in FIRST for last in LAST]
    rng.shuffle(pairs)
    return iter(pairs)


def _person(names, employee_id: str, department: str, grade: int, born: int, manager: str | None):
    first, last = next(names)
    return Person(
        employee_id,
        f"{first} {last}",
        f"{first}.{last}.{employee_id}@example.com".lower(),
        department,
        grade,
        born,
        manager,
    )


def _chain(person: Person, by_id: dict[str, Person]) -> list[str]:
    chain, manager = [], person.manager
    while manager is not None and manager in by_id:
        chain.append(manager)
        manager = by_id[manager].manager
    return chain


def _profile(rng: random.Random, p: Person) -> None:
    p.languages = ["en", *rng.sample(["fr", "de", "es"], k=rng.choice([0, 0, 1]))]
    p.time_zone = rng.choice(ZONES)
    p.communication_style = rng.choice(STYLES)
    if p.grade <= 4:
        p.role = "mentor"
        p.skills_offered = rng.sample(DIGITAL, 3) + rng.sample(INCLUSION, 1)
        p.skills_wanted = rng.sample(INDUSTRY, 2)
        p.capacity = rng.choice([1, 1, 2])
    elif p.grade <= 6:
        p.role = "both"
        p.skills_offered = rng.sample(DIGITAL, 1) + rng.sample(INDUSTRY, 1)
        p.skills_wanted = rng.sample(DIGITAL, 1) + rng.sample(INDUSTRY, 1)
    else:
        p.role = "mentee"
        p.skills_offered = rng.sample(INDUSTRY, 3)
        p.skills_wanted = rng.sample(DIGITAL, 2) + rng.sample(INCLUSION, 1)
    p.focus_areas = [f for f in ("digital-skills", "diversity") if rng.random() < 0.6]
