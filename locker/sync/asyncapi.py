"""Build ``api/asyncapi.yaml`` (AsyncAPI 3) from the message models the code uses.

python -m locker.sync.asyncapi            # rewrite api/asyncapi.yaml
python -m locker.sync.asyncapi --check    # exit 1 if the file is out of date
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from locker import __version__
from locker.sync import messages as m

TARGET = Path(__file__).resolve().parents[2] / "api" / "asyncapi.yaml"
REF = "#/components/schemas/{model}"


def _members(union: Any) -> list[type[BaseModel]]:
    inner = typing.get_args(union)[0]  # Annotated[Union[...], Field(...)]
    return list(typing.get_args(inner))


CHANNELS: dict[str, tuple[str, str, list[type[BaseModel]], bool]] = {
    # channel: (direction for the locker, description, payload models, retained)
    "reservations": (
        "receive",
        "Bookings from the conciergerie server.",
        _members(m.ReservationMessage),
        False,
    ),
    "commands": (
        "receive",
        "Commands from the server; each answered by command.done or "
        "command.failed with its request_id, run at most once.",
        _members(m.CommandMessage),
        False,
    ),
    "events": (
        "send",
        "Everything that happens at the locker, in seq order, at least once; "
        "remove duplicates by event_id.",
        _members(m.EventMessage),
        False,
    ),
    "status": (
        "send",
        "Retained. online true on connect and on every change of free counts "
        "or service state; the Last Will sets online false.",
        [m.Status],
        True,
    ),
}


def _message_name(model: type[BaseModel]) -> str:
    type_field = model.model_fields.get("type")
    if type_field is not None:
        (literal,) = typing.get_args(type_field.annotation)
        return str(literal)
    return model.__name__.lower()


def document() -> dict[str, Any]:
    inbound = [
        (model, "validation") for ch in ("reservations", "commands") for model in CHANNELS[ch][2]
    ]
    outbound = [
        (model, "serialization") for ch in ("events", "status") for model in CHANNELS[ch][2]
    ]
    _, defs = models_json_schema(inbound + outbound, ref_template=REF)  # type: ignore[arg-type]
    schemas = defs.get("$defs", {})
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel, (action, description, models, retained) in CHANNELS.items():
        refs = {}
        for model in models:
            name = _message_name(model)
            messages[name] = {
                "name": name,
                "title": model.__name__,
                "summary": (model.__doc__ or name).strip().splitlines()[0],
                "payload": {"$ref": REF.format(model=model.__name__)},
            }
            refs[name.replace(".", "_")] = {"$ref": f"#/components/messages/{name}"}
        channels[channel] = {
            "address": f"conciergerie/lockers/{{locker_id}}/{channel}",
            "description": description,
            "parameters": {"locker_id": {"description": "the locker's id, from its config"}},
            "messages": refs,
            "bindings": {"mqtt": {"bindingVersion": "0.2.0"}},
        }
        operations[f"{action}{channel.capitalize()}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "bindings": {"mqtt": {"qos": 1, "retain": retained, "bindingVersion": "0.2.0"}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Conciergerie locker contract",
            "version": __version__,
            "description": "The locker controller's side of the conciergerie <-> locker "
            "contract, v1. Generated from locker/sync/messages.py by "
            "`python -m locker.sync.asyncapi`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    import yaml  # a test/dev dependency: only this generator needs it

    return str(yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100))


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is out of date: run python -m locker.sync.asyncapi")
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
