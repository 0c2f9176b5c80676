"""Issue #19 item 2 (docs/adr/0011): a person's participant ids cannot be linked across programs without the key; a
program launched before keeps its legacy ids (its ProgramLaunched, without `pseudonyms`, reads as "global"); every
service recognises a signed-in person under the id of the resource's program without knowing its scheme."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest

from services.sessions import bootstrap as sessions_bootstrap
from services.sessions.adapters.memory import SessionsState
from services.sessions.config import SessionsSettings
from services.sessions.domain.model import Pair
from services.sessions.entrypoints import http as sessions_http
from services.sessions.service_layer.unit_of_work import InMemorySessionsUnitOfWork
from shared.auth import AuthSettings, Principal, ProgramStaff, issue_token, verify
from shared.events import ProgramLaunched, ProgramSettingsChanged, event_class, upcast
from shared.eventstore import InMemoryEventStore
from shared.pseudonyms import ids_in, legacy_pseudonym, pseudonym, pseudonym_in
from shared.schemas import revisions

KEY = "per-program-pseudonym-test-key-32-bytes"
AUTH = AuthSettings(pseudonym_key=KEY)
NEW, OTHER, OLD = "prg-new", "prg-other", "prg-old"  # OLD was launched before per-program pseudonyms


def signed_in(employee_id: str, roles: tuple[str, ...] = ("participant",)) -> dict[str, str]:
    token = issue_token("person", list(roles), settings=AUTH, employee_id=employee_id)
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------- derivation


def test_one_person_has_unrelated_ids_in_two_programs_and_one_id_in_each():
    in_new, in_other = pseudonym(KEY, NEW, "E1"), pseudonym(KEY, OTHER, "E1")
    assert in_new != in_other and in_new != legacy_pseudonym(KEY, "E1")
    assert pseudonym(KEY, NEW, "E1") == pseudonym(KEY, NEW, " E1 ") == in_new  # stable in one program
    assert pseudonym(KEY, NEW, "E2") != in_new
    assert all(i.startswith("p-") and len(i) == 22 and "E1" not in i for i in (in_new, in_other))


def test_the_encoding_is_unambiguous_across_the_program_employee_boundary():
    assert pseudonym(KEY, "prg-a", "bc") != pseudonym(KEY, "prg-ab", "c")
    assert pseudonym(KEY, "", "E1") != legacy_pseudonym(KEY, "E1")


def test_a_program_derives_under_its_scheme():
    assert pseudonym_in("global", KEY, OLD, "E1") == legacy_pseudonym(KEY, "E1")
    assert pseudonym_in("per-program", KEY, NEW, "E1") == pseudonym(KEY, NEW, "E1")
    assert ids_in(KEY, NEW, "E1") == {legacy_pseudonym(KEY, "E1"), pseudonym(KEY, NEW, "E1")}


# ------------------------------------------------------------------------------------------------- upcasting


def _launched_without_the_field() -> dict:
    body = ProgramLaunched(program_id=OLD, title="Before", cadence_days=14, duration_weeks=26).model_dump(mode="json")
    del body["pseudonyms"]
    return body


@pytest.mark.parametrize("cls", [ProgramLaunched, ProgramSettingsChanged])
def test_an_old_program_event_without_the_scheme_reads_as_global(cls):
    body = _launched_without_the_field()
    if cls is ProgramSettingsChanged:
        body |= {"settings_version": 2, "consent_version": 1}
    type_name, data = upcast(cls.type_name, json.loads(json.dumps(body)))
    assert event_class(type_name).model_validate(data).pseudonyms == "global"  # type: ignore[attr-defined]


def test_the_previous_published_schema_had_no_scheme_so_a_stored_launch_reads_as_global():
    number, previous = revisions(ProgramLaunched.type_name)[-2]
    assert "pseudonyms" not in previous["properties"], f"revision {number}"
    assert "pseudonyms" not in previous.get("required", [])


# ---------------------------------------------------------------------------------------------- principal


def test_a_signed_in_person_is_recognised_under_the_id_of_the_program_at_hand():
    me = verify(issue_token("person", ["participant"], settings=AUTH, employee_id="E1"), AUTH)
    assert me.subject == legacy_pseudonym(KEY, "E1")  # no program at hand: the legacy id
    assert me.ids_in(NEW) == {legacy_pseudonym(KEY, "E1"), pseudonym(KEY, NEW, "E1")}
    assert me.is_participant(NEW, pseudonym(KEY, NEW, "E1"))
    assert me.is_participant(OLD, legacy_pseudonym(KEY, "E1"))
    # Its id in another program is no id of it here: a per-program id is only ever checked in its program.
    assert not me.is_participant(NEW, pseudonym(KEY, OTHER, "E1"))
    assert not me.may_act_for(NEW, pseudonym(KEY, NEW, "E2"))
    assert me.id_among(NEW, pseudonym(KEY, NEW, "E2"), pseudonym(KEY, NEW, "E1")) == pseudonym(KEY, NEW, "E1")
    assert "pseudonym_key" not in repr(me) and KEY not in repr(me)


def test_a_token_naming_its_id_in_sub_has_that_id_only():
    script = Principal("p-script", frozenset({"participant"}), pseudonym_key=KEY)
    assert script.ids_in(NEW, OLD) == {"p-script"}
    assert script.may_read(NEW, "p-script") and not script.may_read(NEW, pseudonym(KEY, NEW, "E1"))


# ------------------------------------------------------------------------------------------------- sessions

SESSION = {"held_on": str(date.today()), "minutes": 30, "topics": ["ai"], "learning_direction": "mentor_to_mentee"}


@pytest.fixture
async def sessions():
    """E1 mentors E2 in a new program (per-program ids) and in an old one (legacy ids)."""
    state = SessionsState(
        pairs={
            "pair-new": Pair("pair-new", NEW, pseudonym(KEY, NEW, "E1"), pseudonym(KEY, NEW, "E2")),
            "pair-old": Pair("pair-old", OLD, legacy_pseudonym(KEY, "E1"), legacy_pseudonym(KEY, "E2")),
        },
        program_staff={NEW: ProgramStaff(), OLD: ProgramStaff()},
    )
    store = InMemoryEventStore()
    app = sessions_bootstrap.build(SessionsSettings())
    app.state.auth = AUTH
    app.dependency_overrides[sessions_http.unit_of_work] = lambda: InMemorySessionsUnitOfWork(state, store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://t{sessions_bootstrap.SPEC.prefix}") as client:
        yield client, store


@pytest.mark.parametrize("pair_id, program_id", [("pair-new", NEW), ("pair-old", OLD)])
async def test_a_member_acts_on_its_own_pair_under_its_id_there_and_a_stranger_is_refused(
    sessions, pair_id, program_id
):
    client, store = sessions
    refused = await client.post(f"/pairs/{pair_id}/sessions", json=SESSION, headers=signed_in("E3"))
    assert refused.status_code == 403 and store.events == []
    logged = await client.post(f"/pairs/{pair_id}/sessions", json=SESSION, headers=signed_in("E1"))
    assert logged.status_code == 201, logged.text
    [event] = store.events
    scheme = "per-program" if program_id == NEW else "global"
    assert event.data["logged_by"] == pseudonym_in(scheme, KEY, program_id, "E1")  # its id in that program
    assert (await client.get(f"/pairs/{pair_id}/sessions", headers=signed_in("E2"))).status_code == 200
    assert (await client.get(f"/pairs/{pair_id}/sessions", headers=signed_in("E3"))).status_code == 403


async def test_my_pairs_are_found_in_every_program_each_with_my_id_there(sessions):
    client, _ = sessions
    me = (await client.get("/me", headers=signed_in("E2"))).json()
    mine = {p["pair_id"]: (p["my_participant_id"], p["partner_participant_id"]) for p in me["pairs"]}
    assert mine == {
        "pair-new": (pseudonym(KEY, NEW, "E2"), pseudonym(KEY, NEW, "E1")),
        "pair-old": (legacy_pseudonym(KEY, "E2"), legacy_pseudonym(KEY, "E1")),
    }
    assert (await client.get("/me", headers=signed_in("E3"))).json()["pairs"] == []


async def test_a_participant_reads_the_pairs_of_its_own_id_in_a_program_but_not_anothers(sessions):
    client, _ = sessions
    mine = await client.get(f"/participants/{pseudonym(KEY, NEW, 'E1')}/pairs", headers=signed_in("E1"))
    assert mine.status_code == 200 and [p["pair_id"] for p in mine.json()] == ["pair-new"]
    theirs = await client.get(f"/participants/{pseudonym(KEY, NEW, 'E2')}/pairs", headers=signed_in("E1"))
    assert theirs.status_code == 403
