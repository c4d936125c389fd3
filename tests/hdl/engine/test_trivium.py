"""Trivium: the published test vectors, the specification's bit-serial form, gateware."""

import random

import pytest
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from memgen.hdl.engine.trivium import WARMUP_STEPS, Trivium, TriviumModel
from memgen.sim.harness.amaranth_sim import run_simulation, unused

#: eSTREAM's Trivium test vectors (trivium-80.80 verified test vectors, Profile H3): key, IV and
#: the first keystream bytes, all as the file writes them.
ESTREAM_VECTORS = [
    ("00000000000000000000", "00000000000000000000", "FBE0BF265859051B517A2E4E239FC97F"),
    ("80000000000000000000", "00000000000000000000", "38EB86FF730D7A9CAF8DF13A4420540D"),
    ("00400000000000000000", "00000000000000000000", "61208D286BC1DC431171EDA5CAF79D95"),
    ("00010203040506070809", "00000000000000000000", "D2A8740BBA6FD906"),
    ("0053A6F94C9FF24598EB", "0D74DB42A91077DE45AC", "F4CD954A717F26A7D6930830C4E7CF08"),
]


def serial_keystream(key, iv, count):
    """The specification as written: 288 cells s1..s288, one step per bit, K1 the top bit of
    the key read little-endian, z1 the low bit of the first byte."""
    key_bits = int.from_bytes(key, "little")
    iv_bits = int.from_bytes(iv, "little")
    s = [0] * 289  # s[1..288]
    for i in range(1, 81):
        s[i] = (key_bits >> (80 - i)) & 1
        s[93 + i] = (iv_bits >> (80 - i)) & 1
    s[286] = s[287] = s[288] = 1

    def step():
        t1 = s[66] ^ s[93]
        t2 = s[162] ^ s[177]
        t3 = s[243] ^ s[288]
        z = t1 ^ t2 ^ t3
        t1 ^= (s[91] & s[92]) ^ s[171]
        t2 ^= (s[175] & s[176]) ^ s[264]
        t3 ^= (s[286] & s[287]) ^ s[69]
        s[1:94] = [t3] + s[1:93]
        s[94:178] = [t1] + s[94:177]
        s[178:289] = [t2] + s[178:288]
        return z

    for _ in range(WARMUP_STEPS):
        step()
    bits = [step() for _ in range(8 * count)]
    return bytes(sum(bits[8 * k + j] << j for j in range(8)) for k in range(count))


@pytest.mark.parametrize("key, iv, stream", ESTREAM_VECTORS)
def test_serial_specification_gives_the_estream_vectors(key, iv, stream):
    """The bit order of key, IV and keystream is the eSTREAM files' (checks this file's
    reading of the specification, which the tests below compare the engine with)."""
    expected = bytes.fromhex(stream)
    assert serial_keystream(bytes.fromhex(key), bytes.fromhex(iv), len(expected)) == expected


@pytest.mark.parametrize("key, iv, stream", ESTREAM_VECTORS)
@pytest.mark.parametrize("width", [8, 16, 32, 64])
def test_model_gives_the_estream_vectors(key, iv, stream, width):
    expected = bytes.fromhex(stream)
    model = TriviumModel.from_key_iv(bytes.fromhex(key), bytes.fromhex(iv), width)
    assert model.keystream(len(expected)) == expected


@pytest.mark.parametrize("width", [1, 3, 9, 24, 32, 64])
def test_model_matches_the_serial_form_at_every_width(width):
    """Word-parallel steps at any width the engine allows give the same keystream bits."""
    rng = random.Random(width)
    for _ in range(3):
        key, iv = rng.randbytes(10), rng.randbytes(10)
        expected = int.from_bytes(serial_keystream(key, iv, 72), "little")
        model = TriviumModel.from_key_iv(key, iv, width)
        words = [model.next_word() for _ in range(72 * 8 // width)]
        assert sum(word << (k * width) for k, word in enumerate(words)) == expected


def test_seed_and_lane_are_key_and_iv():
    """The seed is the key (8 bytes little-endian, two zero bytes), the lane the IV."""
    for seed, lane in [(0, 0), (1, 0), (1 << 63, 5), ((1 << 64) - 1, (1 << 80) - 1)]:
        key = seed.to_bytes(8, "little") + bytes(2)
        iv = lane.to_bytes(10, "little")
        assert TriviumModel(8, seed, lane).keystream(24) == serial_keystream(key, iv, 24)
    default = TriviumModel(seed=7)  # 32 bits a word, lane 0: the all-zero IV
    assert default.width == 32
    assert default.keystream(8) == serial_keystream(bytes([7]) + bytes(9), bytes(10), 8)


@pytest.mark.parametrize("width", [0, 5, 65, 128, 2.0])
def test_widths_that_do_not_divide_the_warmup_are_refused(width):
    with pytest.raises(ValueError, match="Trivium steps per clock"):
        TriviumModel(width)


def test_gateware_matches_the_model():
    """Words under random enables; a seed loaded mid-stream warms up for 1152 / width clocks
    (``ready`` low exactly that long), then gives the new seed's words."""
    width = 32
    dut = Trivium(width, reset_seed=0x5EED, lane=3)
    rng = random.Random(1)
    seeds = [0, 1 << 63, (1 << 64) - 1, 0x0123456789ABCDEF]

    async def testbench(ctx):
        model = TriviumModel(width, 0x5EED, lane=3)
        for seed in [None, *seeds]:
            if seed is not None:
                ctx.set(dut.seed.payload, seed)
                ctx.set(dut.seed.valid, 1)
                await ctx.tick()
                ctx.set(dut.seed.valid, 0)
                model.seed(seed)
                for _ in range(WARMUP_STEPS // width):
                    assert not ctx.get(dut.ready)
                    ctx.set(dut.enable, rng.random() < 0.5)  # ignored while warming up
                    await ctx.tick()
            assert ctx.get(dut.ready)
            for _ in range(40):
                enable = rng.random() < 0.7
                ctx.set(dut.enable, enable)
                if enable:
                    assert ctx.get(dut.word) == model.next_word()
                await ctx.tick()

    run_simulation(dut, testbench, name="trivium")


def test_ports_are_as_documented():
    """A one-bit enable and ready, a 64-bit seed (never stalled), a word of ``width`` bits."""
    assert (
        unused(Trivium(16)).signature.members
        == wiring.Signature(
            {
                "enable": In(1),
                "seed": In(stream.Signature(64, always_ready=True)),
                "word": Out(16),
                "ready": Out(1),
            }
        ).members
    )
