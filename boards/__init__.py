"""Boards memgen builds for: one module each, listed in :data:`BOARDS`."""

from .icebreaker import ICEBREAKER
from .ulx3s import ULX3S_85F

__all__ = ["BOARDS", "board"]

BOARDS = {board.name: board for board in (ICEBREAKER, ULX3S_85F)}


def board(name):
    """The board called ``name``; ValueError naming the known ones otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"unknown board {name!r}: choose one of {', '.join(BOARDS)}") from None
