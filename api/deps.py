"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from locker.domain.service import LockerService
from locker.runtime import Runtime


# NOTE: async, as every dependency doing in-memory work only: FastAPI would run a
# plain function on a worker thread, one hand-over per dependency and request.
async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_service(request: Request) -> LockerService:
    runtime: Runtime = request.app.state.runtime
    return runtime.service


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[LockerService, Depends(get_service)]
