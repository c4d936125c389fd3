"""Fixtures shared by the tests of the command and of the API."""

import os
import pty
import select
import threading
import tty

import pytest
from memgen.hdl.engine.records import RecordFormat
from memgen.host.link_reference import LinkReference


@pytest.fixture
def serial_board():
    """A board on a serial port: a pseudo-terminal whose other end is the link's software
    model, keeping its memory between commands as a board does. Yields the device name."""
    leader, follower = pty.openpty()
    tty.setraw(follower)
    model = LinkReference(RecordFormat(4096, max_records=256, max_length=64))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            ready, _, _ = select.select([leader], [], [], 0.05)
            if ready:
                answer = model.receive(os.read(leader, 4096))
                if answer:
                    os.write(leader, answer)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"serial:{os.ttyname(follower)}"
    stop.set()
    server.join()
    os.close(leader)
    os.close(follower)


@pytest.fixture
def chattering_port():
    """A serial port whose other end never stops sending (a board at another line rate, as the
    host sees it). Yields the device name."""
    leader, follower = pty.openpty()
    tty.setraw(follower)
    stop = threading.Event()

    def chatter():
        while not stop.is_set():
            if select.select([], [leader], [], 0.05)[1]:
                os.write(leader, b"\x55" * 64)
            while select.select([leader], [], [], 0)[0]:
                os.read(leader, 4096)

    talker = threading.Thread(target=chatter, daemon=True)
    talker.start()
    yield f"serial:{os.ttyname(follower)}"
    stop.set()
    talker.join()
    os.close(leader)
    os.close(follower)
