"""A FUSE filesystem that can lose power (issue 20), in the spirit of LazyFS.

It passes every operation to a real directory, the *disk*, but holds back what a
disk's cache would: file data written and not yet ``fsync``ed (``fdatasync`` alike)
stays in dirty 4 KiB pages in this process, and every create, unlink, rename, mkdir
and rmdir stays undoable until the directory holding the name is ``fsync``ed. The
running service sees its own writes, as it would through a page cache.

A *cut* (a line written to the control file ``/.cutfs``) drops what is held back, as
a power cut would: ``cut all`` loses every dirty page and every pending name; ``cut
torn SEED`` writes a random half of the dirty pages (a torn, reordered write-back)
and keeps a random prefix of the pending names (a journal cut short); ``trap sync
SUFFIX [SEED]`` makes the next ``fsync`` of a file whose name ends with SUFFIX the
moment of the cut (all, or torn with SEED), mid-commit: that fsync never returns
while its caller lives (``DISK.sprung`` says so; the caller is killed). Then every
operation fails with EIO until the mount is gone. Reading the control file answers
what is held back and, after the cut, what was lost, as JSON.

Run as ``python -m tests.reliability.cutfs DISK GRAVE MOUNT`` (root, ``/dev/fuse``,
Debian ``fuse3``); :mod:`tests.reliability.cutmount` starts, cuts and unmounts it.
``GRAVE`` keeps unlinked and overwritten files until their unlink is durable.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mfusepy as fuse

PAGE = 4096
CONTROL = "/.cutfs"
KINDS = (".db-wal", ".db-shm", ".db", ".key")  # how the losses are counted


class Node:
    """One file's durable bytes (the disk's, through ``fd``) and its dirty pages."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.pages: dict[int, bytearray] = {}
        self.size = os.fstat(fd).st_size  # as the service sees it
        self.cut_to: int | None = None  # the shortest truncation not yet durable

    def _base(self, index: int) -> bytearray:
        start = index * PAGE
        data = os.pread(self.fd, PAGE, start)
        if self.cut_to is not None:
            data = data[: max(0, self.cut_to - start)]
        return bytearray(data.ljust(PAGE, b"\0"))

    def read(self, size: int, offset: int) -> bytes:
        end, pos, out = min(offset + size, self.size), offset, bytearray()
        while pos < end:
            index, inner = divmod(pos, PAGE)
            n = min(PAGE - inner, end - pos)
            page = self.pages.get(index)
            out += (page if page is not None else self._base(index))[inner : inner + n]
            pos += n
        return bytes(out)

    def write(self, data: bytes, offset: int) -> None:
        pos = 0
        while pos < len(data):
            index, inner = divmod(offset + pos, PAGE)
            n = min(PAGE - inner, len(data) - pos)
            page = self.pages.get(index)
            if page is None:
                page = self.pages[index] = self._base(index)
            page[inner : inner + n] = data[pos : pos + n]
            pos += n
        self.size = max(self.size, offset + len(data))

    def truncate(self, length: int) -> None:
        if length < self.size:
            for index in [i for i in self.pages if i * PAGE >= length]:
                del self.pages[index]
            index, inner = divmod(length, PAGE)
            if inner and index in self.pages:
                self.pages[index][inner:] = bytes(PAGE - inner)
            self.cut_to = length if self.cut_to is None else min(self.cut_to, length)
        self.size = length

    def sync(self, rng: random.Random | None = None) -> None:
        """Make the dirty pages durable: all of them, or (``rng``) a random half."""

        def lucky() -> bool:
            return rng is None or rng.random() < 0.5

        if self.cut_to is not None and lucky():
            os.ftruncate(self.fd, self.cut_to)
        for index, page in sorted(self.pages.items()):
            n = min(PAGE, self.size - index * PAGE)
            if n > 0 and lucky():
                os.pwrite(self.fd, bytes(page[:n]), index * PAGE)
        if rng is None:
            os.ftruncate(self.fd, self.size)
        self.pages.clear()
        self.cut_to = None

    @property
    def dirty(self) -> bool:
        return bool(self.pages) or self.cut_to is not None


@dataclass
class NameOp:
    """A name change not yet durable, and how to take it back."""

    kind: str  # create, mkdir, unlink, rmdir, rename
    path: str
    new: str = ""  # rename's target
    grave: str = ""  # where an unlinked or overwritten file waits

    @property
    def dirs(self) -> set[str]:
        return {os.path.dirname(p) for p in (self.path, self.new) if p}


def _killed(pid: int) -> bool:
    """Whether ``pid`` is gone or has a SIGKILL pending."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    for line in status.splitlines():
        if line.startswith(("ShdPnd:", "SigPnd:")) and int(line.split()[1], 16) & (1 << 8):
            return True
    return False


class CutFS(fuse.Operations):  # type: ignore[misc]
    use_ns = True

    def __init__(self, disk: str, grave: str) -> None:
        self.disk, self.grave = disk, grave
        self.nodes: dict[str, Node] = {}  # by path in the mount
        self.handles: dict[int, Node | None] = {}  # None: the control file
        self.pending: list[NameOp] = []
        self.fhs = itertools.count(1)
        self.graves = itertools.count(1)
        self.cut = False
        self.trap: tuple[str, random.Random | None] | None = None
        self.lost: dict[str, int] = {}  # at the cut: dirty pages by kind of file, names

    # -- helpers ------------------------------------------------------------
    def _real(self, path: str) -> str:
        return os.path.join(self.disk, path.lstrip("/"))

    def _live(self) -> None:
        if self.cut:
            raise fuse.FuseOSError(errno.EIO)

    def _node(self, path: str) -> Node:
        node = self.nodes.get(path)
        if node is None:
            try:
                fd = os.open(self._real(path), os.O_RDWR)
            except PermissionError:
                fd = os.open(self._real(path), os.O_RDONLY)
            node = self.nodes[path] = Node(fd)
        return node

    def _handle(self, node: Node | None) -> int:
        fh = next(self.fhs)
        self.handles[fh] = node
        return fh

    def _bury(self, path: str) -> str:
        grave = os.path.join(self.grave, str(next(self.graves)))
        os.rename(self._real(path), grave)
        return grave

    def _moved(self, old: str, new: str) -> None:
        for key in [k for k in self.nodes if k == old or k.startswith(old + "/")]:
            self.nodes[new + key[len(old) :]] = self.nodes.pop(key)

    # -- the control file ---------------------------------------------------
    def _control(self, line: str) -> None:
        words = line.split()
        if words[:2] == ["cut", "all"]:
            self._power_cut(None)
        elif words[:2] == ["cut", "torn"] and len(words) == 3:
            self._power_cut(random.Random(int(words[2])))
        elif words[:2] == ["trap", "sync"] and len(words) in (3, 4):
            # the power goes as the next fsync of a file whose name ends so begins:
            # mid-commit, its pages not yet durable (the fsync fails: nothing answered)
            self.trap = (words[2], random.Random(int(words[3])) if len(words) == 4 else None)
        else:
            raise fuse.FuseOSError(errno.EINVAL)

    def _power_cut(self, rng: random.Random | None) -> None:
        for path, node in self.nodes.items():  # what is lost, by kind of file
            if node.dirty:
                kind = next((k for k in KINDS if path.endswith(k)), "other")
                self.lost[kind] = self.lost.get(kind, 0) + max(1, len(node.pages))
        self.lost["names"] = len(self.pending)
        if rng is not None:
            for node in self.nodes.values():
                if node.dirty:
                    node.sync(rng)
            keep = rng.randint(0, len(self.pending))
        else:
            keep = 0
        for op in reversed(self.pending[keep:]):
            self._undo(op)
        self.pending.clear()
        self.cut = True

    def _undo(self, op: NameOp) -> None:
        real = self._real(op.path)
        try:
            if op.kind == "create":
                os.unlink(real)
            elif op.kind == "mkdir":
                shutil.rmtree(real)
            elif op.kind == "rmdir":
                os.mkdir(real)
            elif op.kind == "unlink":
                os.rename(op.grave, real)
            elif op.kind == "rename":
                os.rename(self._real(op.new), real)
                if op.grave:
                    os.rename(op.grave, self._real(op.new))
        except FileNotFoundError:  # a later change, durable, took it elsewhere
            pass

    def _hold(self, pid: int) -> None:
        """The power went during this fsync: it returns only once its caller is being
        killed (the test kills it on seeing the marker file beside the disk), so no
        code of the caller's runs after the cut. (A caller in a FUSE request cannot
        die before the answer: the kernel waits for it.)"""
        Path(self.disk + ".sprung").write_text(str(pid))
        deadline = time.monotonic() + 60
        while not _killed(pid) and time.monotonic() < deadline:
            time.sleep(0.005)

    def _state(self) -> bytes:
        dirty = {p: len(n.pages) for p, n in self.nodes.items() if n.dirty}
        names = [(op.kind, op.path, op.new) for op in self.pending]
        state = {"dirty_pages": dirty, "pending_names": names, "cut": self.cut, "lost": self.lost}
        return json.dumps(state).encode() + b"\n"

    # -- operations ---------------------------------------------------------
    def getattr(self, path: str, fh: int | None = None) -> dict[str, Any]:
        if path == CONTROL:  # readable after a cut too: what it lost
            return {"st_mode": 0o100600, "st_nlink": 1, "st_size": len(self._state())}
        self._live()
        try:
            st = os.lstat(self._real(path))
        except OSError as exc:
            raise fuse.FuseOSError(exc.errno or errno.EIO) from None
        attrs = {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid")}
        attrs |= {k: getattr(st, k) for k in ("st_atime_ns", "st_mtime_ns", "st_ctime_ns")}
        attrs = {k.replace("_ns", ""): v for k, v in attrs.items()}
        node = self.nodes.get(path)
        attrs["st_size"] = node.size if node is not None else st.st_size
        return attrs

    def readdir(self, path: str, fh: int) -> list[str]:
        self._live()
        return [".", "..", *os.listdir(self._real(path))]

    def opendir(self, path: str) -> int:
        self._live()
        return 0

    def fsyncdir(self, path: str, datasync: int, fh: int) -> int:
        self._live()
        self.pending = [op for op in self.pending if path not in op.dirs]
        return 0

    def mkdir(self, path: str, mode: int) -> int:
        self._live()
        os.mkdir(self._real(path), mode)
        self.pending.append(NameOp("mkdir", path))
        return 0

    def rmdir(self, path: str) -> int:
        self._live()
        os.rmdir(self._real(path))
        self.pending.append(NameOp("rmdir", path))
        return 0

    def create(self, path: str, mode: int, fi: Any = None) -> int:
        self._live()
        if path == CONTROL:
            return self._handle(None)
        fd = os.open(self._real(path), os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
        self.nodes[path] = Node(fd)
        self.pending.append(NameOp("create", path))
        return self._handle(self.nodes[path])

    def open(self, path: str, flags: int) -> int:
        if path == CONTROL:
            return self._handle(None)
        self._live()
        node = self._node(path)
        if flags & os.O_TRUNC:
            node.truncate(0)
        return self._handle(node)

    def read(self, path: str, size: int, offset: int, fh: int) -> bytes:
        if fh in self.handles and self.handles[fh] is None:
            return self._state()[offset : offset + size]
        self._live()
        node = self.handles[fh]
        assert node is not None
        return node.read(size, offset)

    def write(self, path: str, data: bytes, offset: int, fh: int) -> int:
        self._live()
        node = self.handles[fh]
        if node is None:
            self._control(bytes(data).decode())
            return len(data)
        node.write(bytes(data), offset)
        return len(data)

    def truncate(self, path: str, length: int, fh: int | None = None) -> int:
        self._live()
        if path == CONTROL:
            return 0
        node = self.handles.get(fh) if fh else self._node(path)
        if node is not None:
            node.truncate(length)
        return 0

    def fsync(self, path: str, datasync: int, fh: int) -> int:
        self._live()
        node = self.handles.get(fh)
        if self.trap is not None and path and path.endswith(self.trap[0]):
            self._power_cut(self.trap[1])
            self._hold(fuse.fuse_get_context()[2])
            raise fuse.FuseOSError(errno.EIO)
        if node is not None:
            node.sync()
        return 0

    def flush(self, path: str, fh: int) -> int:
        return 0

    def release(self, path: str, fh: int) -> int:
        self.handles.pop(fh, None)
        return 0

    def unlink(self, path: str) -> int:
        self._live()
        grave = self._bury(path)
        self.nodes.pop(path, None)
        self.pending.append(NameOp("unlink", path, grave=grave))
        return 0

    def rename(self, old: str, new: str) -> int:
        self._live()
        grave = self._bury(new) if os.path.lexists(self._real(new)) else ""
        os.rename(self._real(old), self._real(new))
        self.nodes.pop(new, None)
        self._moved(old, new)
        self.pending.append(NameOp("rename", old, new=new, grave=grave))
        return 0

    def link(self, target: str, source: str) -> int:
        """``target``, a new name of the file ``source``."""
        self._live()
        os.link(self._real(source), self._real(target))
        if source in self.nodes:
            self.nodes[target] = self.nodes[source]  # one file, one set of dirty pages
        self.pending.append(NameOp("create", target))
        return 0

    def chmod(self, path: str, mode: int) -> int:
        self._live()
        os.chmod(self._real(path), mode)
        return 0

    def chown(self, path: str, uid: int, gid: int) -> int:
        self._live()
        os.chown(self._real(path), uid, gid)
        return 0

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        self._live()
        if times is None:
            os.utime(self._real(path))
        else:
            os.utime(self._real(path), ns=times)
        return 0

    def access(self, path: str, amode: int) -> int:
        self._live()
        return 0

    def statfs(self, path: str) -> dict[str, int]:
        st = os.statvfs(self.disk)
        names = ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files")
        return {k: getattr(st, k) for k in (*names, "f_ffree", "f_favail", "f_namemax")}


def main(argv: list[str]) -> int:
    disk, grave, mount = argv
    os.makedirs(grave, exist_ok=True)
    fuse.FUSE(CutFS(disk, grave), mount, foreground=True, nothreads=True, hard_remove=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
