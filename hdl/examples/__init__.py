"""Designs that use the MemGen core on chip, as examples of embedding it (see
:mod:`memgen.boards.self_check` for one built for the boards)."""
