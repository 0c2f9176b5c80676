"""Matching's program staff: the admin and sponsor groups of the launches its pool already records (the `pool`
projection's ProgramLaunched), read in a transaction of their own."""

from __future__ import annotations

from services.matching.service_layer.unit_of_work import MatchingUnitOfWork
from shared.auth import ProgramStaff
from shared.program_staff import ProgramStaffReader, staff_of_launch


class LaunchedStaff(ProgramStaffReader):
    def __init__(self, uow: MatchingUnitOfWork):
        self.uow = uow

    async def get(self, program_id: str) -> ProgramStaff | None:
        async with self.uow:
            launched = await self.uow.programs.get(program_id)
        return staff_of_launch(launched) if launched is not None else None

    async def all(self) -> dict[str, ProgramStaff]:
        async with self.uow:
            return await self.uow.programs.staff()
