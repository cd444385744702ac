"""The ``locker`` system user and group, made with the system's own tools (``groupadd``,
``useradd``, ``usermod``; ``--prefix DIR`` for a root that stands for ``/``)."""

from __future__ import annotations

import grp
import pwd
from dataclasses import dataclass
from pathlib import Path

USER = GROUP = "locker"
HOME = "/var/lib/locker"
NOLOGIN = "/usr/sbin/nologin"
# gpio opens /dev/gpiochip* (Raspberry Pi OS's udev rules), dialout the serial ports.
DEVICE_GROUPS = ("gpio", "dialout")


@dataclass(frozen=True)
class Account:
    uid: int
    gid: int
    groups: frozenset[str]  # supplementary groups


class Accounts:
    """Users and groups of the system at ``root``: its files under a throwaway root, the
    name service on the real one (where they may also come from elsewhere than files)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.real = root == Path("/")

    def prefix(self) -> list[str]:
        return [] if self.real else ["--prefix", str(self.root)]

    def _rows(self, name: str) -> list[list[str]]:
        path = self.root / "etc" / name
        if not path.is_file():
            return []
        return [line.split(":") for line in path.read_text().splitlines() if line.count(":") >= 3]

    def gid(self, group: str) -> int | None:
        if self.real:
            try:
                return grp.getgrnam(group).gr_gid
            except KeyError:
                return None
        return next((int(r[2]) for r in self._rows("group") if r[0] == group), None)

    def user(self, name: str) -> Account | None:
        if self.real:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                return None
            uid, gid = entry.pw_uid, entry.pw_gid
            member = {g.gr_name for g in grp.getgrall() if name in g.gr_mem}
        else:
            row = next((r for r in self._rows("passwd") if r[0] == name), None)
            if row is None:
                return None
            uid, gid = int(row[2]), int(row[3])
            member = {r[0] for r in self._rows("group") if name in r[3].split(",")}
        return Account(uid, gid, frozenset(member))

    def uid(self, name: str) -> int | None:
        account = self.user(name)
        return None if account is None else account.uid

    def groupadd(self) -> list[str]:
        return ["groupadd", *self.prefix(), "--system", GROUP]

    def useradd(self, groups: list[str]) -> list[str]:
        extra = ["--groups", ",".join(groups)] if groups else []
        return [
            "useradd", *self.prefix(), "--system", "--gid", GROUP, *extra,
            "--home-dir", HOME, "--no-create-home", "--shell", NOLOGIN, USER,
        ]  # fmt: skip

    def usermod(self, groups: list[str]) -> list[str]:
        return ["usermod", *self.prefix(), "--append", "--groups", ",".join(groups), USER]
