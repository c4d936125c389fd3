"""Fixtures shared by the tests of the command and of the API."""

import os
import pty
import select
import threading
import tty
from contextlib import contextmanager

import pytest
from memgen.hdl.engine.records import RecordFormat
from memgen.host.link_reference import LinkReference


def pytest_collection_modifyitems(items):
    """Slow tests (board builds, long simulations) first: pytest-xdist hands tests out in this
    order, so the two workers finish together instead of one running a build at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@contextmanager
def pty_peer(step):
    """A serial port that is a pseudo-terminal, its other end served on a thread by
    ``step(leader)`` in a loop. Yields the device name."""
    leader, follower = pty.openpty()
    tty.setraw(follower)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            step(leader)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        yield f"serial:{os.ttyname(follower)}"
    finally:
        stop.set()
        server.join()
        os.close(leader)
        os.close(follower)


@pytest.fixture
def serial_board():
    """A board on a serial port: the other end is the link's software model, keeping its memory
    between commands as a board does. Yields the device name."""
    model = LinkReference(RecordFormat(4096, max_records=256, max_length=64))

    def answer(leader):
        if select.select([leader], [], [], 0.05)[0]:
            reply = model.receive(os.read(leader, 4096))
            if reply:
                os.write(leader, reply)

    with pty_peer(answer) as name:
        yield name


@pytest.fixture
def chattering_port():
    """A serial port whose other end never stops sending (a board at another line rate, as the
    host sees it). Yields the device name."""

    def chatter(leader):
        if select.select([], [leader], [], 0.05)[1]:
            os.write(leader, b"\x55" * 64)
        while select.select([leader], [], [], 0)[0]:
            os.read(leader, 4096)

    with pty_peer(chatter) as name:
        yield name
