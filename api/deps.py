"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from locker.domain.service import LockerService
from locker.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_service(request: Request) -> LockerService:
    return get_runtime(request).service


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ServiceDep = Annotated[LockerService, Depends(get_service)]
