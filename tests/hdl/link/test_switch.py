"""The link switch: the bytes of two links into one device, its replies to the link that last
spoke, turning only between the device's bytes."""

from memgen.hdl.link.switch import LinkSwitch
from memgen.sim.harness.amaranth_sim import run_simulation


def test_both_links_reach_the_device_first_link_first():
    """Bytes offered on both links in one clock: the first link's goes in, the second's waits
    for the next clock; each link's bytes keep their order."""
    switch = LinkSwitch()
    taken = []

    async def testbench(ctx):
        ctx.set(switch.rx_bytes.ready, 1)
        for first, second in [(0x11, None), (0x12, 0x21), (None, 0x22), (0x13, 0x23)]:
            for link, byte in ((switch.first_rx, first), (switch.second_rx, second)):
                ctx.set(link.valid, byte is not None)
                ctx.set(link.payload, byte or 0)
            for _ in range(3):
                valid, byte = ctx.get(switch.rx_bytes.valid), ctx.get(switch.rx_bytes.payload)
                first_taken = ctx.get(switch.first_rx.valid) and ctx.get(switch.first_rx.ready)
                second_taken = ctx.get(switch.second_rx.valid) and ctx.get(switch.second_rx.ready)
                assert not (first_taken and second_taken)
                if valid:
                    taken.append(byte)
                await ctx.tick()
                if first_taken:
                    ctx.set(switch.first_rx.valid, 0)
                if second_taken:
                    ctx.set(switch.second_rx.valid, 0)
                if not (ctx.get(switch.first_rx.valid) or ctx.get(switch.second_rx.valid)):
                    break

    run_simulation(switch, testbench, name="switch_in", clocks=100)
    assert taken == [0x11, 0x12, 0x21, 0x22, 0x13, 0x23]


def test_replies_follow_the_link_that_spoke_and_never_split():
    """A byte from the second link sends the replies there, but only once the device has no
    byte on offer: a reply under way when the other link speaks ends where it began."""
    switch = LinkSwitch()
    got = {"first": [], "second": []}

    async def speak(ctx, link, byte):
        ctx.set(switch.rx_bytes.ready, 1)
        ctx.set(link.valid, 1)
        ctx.set(link.payload, byte)
        await ctx.tick()
        ctx.set(link.valid, 0)

    async def reply(ctx, data, stall_first=0):
        for byte in data:
            ctx.set(switch.tx_bytes.valid, 1)
            ctx.set(switch.tx_bytes.payload, byte)
            while True:
                for name, link in (("first", switch.first_tx), ("second", switch.second_tx)):
                    ready = name == "second" or stall_first == 0
                    ctx.set(link.ready, ready)
                if ctx.get(switch.tx_bytes.ready):
                    for name, link in (("first", switch.first_tx), ("second", switch.second_tx)):
                        if ctx.get(link.valid):
                            got[name].append(byte)
                    await ctx.tick()
                    break
                stall_first -= 1
                await ctx.tick()
        ctx.set(switch.tx_bytes.valid, 0)
        await ctx.tick()

    async def testbench(ctx):
        await reply(ctx, b"A")  # after reset: the first link
        await speak(ctx, switch.second_rx, 0xC0)
        await ctx.tick()
        await reply(ctx, b"BC")
        # the first link speaks while the device offers a byte to the second
        ctx.set(switch.tx_bytes.valid, 1)
        ctx.set(switch.tx_bytes.payload, ord("D"))
        ctx.set(switch.second_tx.ready, 0)
        await speak(ctx, switch.first_rx, 0xC0)
        await ctx.tick().repeat(3)
        assert ctx.get(switch.second_tx.valid) and not ctx.get(switch.first_tx.valid)
        await reply(ctx, b"DE")  # one reply: D was on offer, E follows without a gap
        await reply(ctx, b"F")  # the gap: now the first link
        assert ctx.get(switch.to_second) == 0

    run_simulation(switch, testbench, name="switch_out", clocks=200)
    assert bytes(got["first"]) == b"AF"
    assert bytes(got["second"]) == b"BCDE"


def test_a_byte_the_device_does_not_take_changes_nothing():
    """With the device not ready, neither link's byte is taken and the replies stay where they
    were; once it takes the second link's byte they turn there."""
    switch = LinkSwitch()

    async def testbench(ctx):
        ctx.set(switch.rx_bytes.ready, 0)
        ctx.set(switch.second_rx.valid, 1)
        ctx.set(switch.first_rx.valid, 1)
        for _ in range(4):
            assert not ctx.get(switch.first_rx.ready) and not ctx.get(switch.second_rx.ready)
            await ctx.tick()
        ctx.set(switch.first_rx.valid, 0)
        await ctx.tick().repeat(2)
        assert ctx.get(switch.to_second) == 0  # offered, never taken
        ctx.set(switch.rx_bytes.ready, 1)
        await ctx.tick().repeat(2)
        assert ctx.get(switch.to_second) == 1

    run_simulation(switch, testbench, name="switch_not_ready", clocks=50)
