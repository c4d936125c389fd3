"""Records from a data file, and samples written out as they arrive.

Lines mode: a record is a line up to and including its LF. A CR is data like any other byte, so
CRLF and CR-only files come back as they were; the last line may lack an LF. ``recite`` writes
the records back byte for byte. ``sample`` writes each sampled record as stored, with an LF
added to a last line that has none, so that every sample is one line.
"""

import os
import re
import sys

from memgen.hdl.link.protocol import MAX_LINK_RECORD

from .errors import MemGenError

__all__ = ["UserError", "Output", "PipeClosed", "plural", "read_data", "split_records"]

LINE = re.compile(rb"[^\n]*\n|[^\n]+\Z")


class UserError(MemGenError):
    """One line for the user, exit status 1."""


class PipeClosed(Exception):
    """The reader of stdout has gone (``| head``): the command ends quietly."""


def plural(count, noun):
    """``1 byte``, ``2 bytes``, ``1,000 records``, ``2 matches``."""
    ending = "es" if noun.endswith(("s", "sh", "ch", "x")) else "s"
    return f"{count:,} {noun}" + ("" if count == 1 else ending)


def read_data(path):
    """The bytes of a file, or of stdin for "-"."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        with open(path, "rb") as file:
            return file.read()
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None


def split_records(data, mode, size, name):
    """The records of ``data`` (from the file ``name``) in a records mode."""
    if not data:
        raise UserError(f"{name} is empty: there is nothing to learn")
    if mode == "lines":
        records = LINE.findall(data)
    elif mode == "bytes":
        records = [data[i : i + 1] for i in range(len(data))]
    else:
        if len(data) % size:
            raise UserError(
                f"{name} is {plural(len(data), 'byte')}, not a whole number of {size}-byte records"
            )
        records = [data[i : i + size] for i in range(0, len(data), size)]
    for number, record in enumerate(records, 1):
        if len(record) > MAX_LINK_RECORD:
            what = "line" if mode == "lines" else "record"
            raise UserError(
                f"{what} {number} of {name} is {plural(len(record), 'byte')}; records are at "
                f"most {MAX_LINK_RECORD} bytes"
            )
    return records


def check_writable(path):
    """A clear error now, before any work, if ``path`` (None or "-": stdout) cannot be written;
    an existing file is left as it is."""
    if path in (None, "-"):
        if sys.stdout is None:
            raise UserError("stdout is closed: give --out FILE")
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UserError(f"cannot write {path}: it is a folder")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise UserError(f"cannot write {path}: permission denied")
    if not os.path.exists(path) and not os.access(folder, os.W_OK):
        raise UserError(f"cannot write {path}: no such folder, or permission denied")


class Output:
    """Where records go as they arrive: stdout or a file (opened at the first write).

    ``lines``: every record written ends with an LF (see the module documentation)."""

    def __init__(self, path, lines=False):
        self.path = path
        self.lines = lines
        self._file = None

    @property
    def name(self):
        return "stdout" if self.path in (None, "-") else self.path

    def encode(self, records):
        if self.lines:
            return b"".join(r if r.endswith(b"\n") else r + b"\n" for r in records)
        return b"".join(records)

    def write(self, data):
        try:
            if self._file is None:
                if self.path in (None, "-"):
                    self._file = sys.stdout.buffer
                else:
                    self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
            self._file.write(data)
            self._file.flush()
        except BrokenPipeError:
            raise PipeClosed from None
        except OSError as error:
            raise UserError(f"cannot write {self.name}: {error.strerror}") from None

    def close(self):
        """Closes a file (stdout stays open); an empty output is created if nothing came."""
        if self._file is None:
            self.write(b"")
        if self._file is not sys.stdout.buffer:
            try:
                self._file.close()
            except OSError as error:
                raise UserError(f"cannot write {self.name}: {error.strerror}") from None

    def __enter__(self):
        return self

    def __exit__(self, kind, *_):
        if kind is None:
            self.close()
        elif self._file is not None and self._file is not sys.stdout.buffer:
            try:
                self._file.close()
            except OSError:
                pass  # the error on its way out says why
