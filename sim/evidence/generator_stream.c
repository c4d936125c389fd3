/* The index generator's streams on stdout, fast enough for PractRand, TestU01 and dieharder.
 *
 * Bit-exact with memgen.hdl.index_generator.IndexGeneratorModel (tests/test_generator_stream.py
 * compares them): the engine's 32-bit words, or the range-reduced index stream of N records,
 * from one or several seeds taken in turn.
 *
 * usage: generator_stream ENGINE FORMAT BYTES SEEDS [ROW0 ... ROW63]
 *   ENGINE  trivium | lfsr | scrambled (the retired LFSR-plus-scrambler, for the guards)
 *   FORMAT  words: little-endian 32-bit words
 *           indices:N:B: indices of N >= 2 records from B-bit fractions (multiply with rejection),
 *                        each turned into uniform bits: N is split into powers of two
 *                        2**k1 > 2**k2 > ..., and an index in the part of size 2**k gives its
 *                        k low bits, packed first bit lowest. The parts are chosen with their
 *                        exact probabilities, so every bit written is an independent fair bit.
 *   BYTES   how many bytes to write; 0: without end
 *   SEEDS   comma-separated seeds (hex), or FIRST:COUNT (hex, decimal) for COUNT consecutive
 *           seeds; one word of each in turn. For lfsr and scrambled, ROW0..ROW63 are the leap
 *           matrix, and a seed loads as memgen.hdl.lfsr.seed_state loads it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536

typedef unsigned __int128 u128;

/* Trivium: a register keeps its cell s1 in its top bit (see memgen.hdl.trivium). */
typedef struct {
    u128 a, b, c;
    uint64_t pending; /* the second half of a 64-step block */
    int has_pending;
} trivium;

static uint64_t cells(u128 reg, int length, int tap) { return (uint64_t)(reg >> (length - tap)); }

static uint64_t trivium_block(trivium *t) {
    uint64_t a66 = cells(t->a, 93, 66), a93 = cells(t->a, 93, 93), a91 = cells(t->a, 93, 91),
             a92 = cells(t->a, 93, 92), a69 = cells(t->a, 93, 69);
    uint64_t b69 = cells(t->b, 84, 69), b84 = cells(t->b, 84, 84), b82 = cells(t->b, 84, 82),
             b83 = cells(t->b, 84, 83), b78 = cells(t->b, 84, 78);
    uint64_t c66 = cells(t->c, 111, 66), c111 = cells(t->c, 111, 111), c109 = cells(t->c, 111, 109),
             c110 = cells(t->c, 111, 110), c87 = cells(t->c, 111, 87);
    uint64_t t1 = a66 ^ a93, t2 = b69 ^ b84, t3 = c66 ^ c111, z = t1 ^ t2 ^ t3;
    t1 ^= (a91 & a92) ^ b78;
    t2 ^= (b82 & b83) ^ c87;
    t3 ^= (c109 & c110) ^ a69;
    u128 mask93 = ((u128)1 << 93) - 1, mask84 = ((u128)1 << 84) - 1, mask111 = ((u128)1 << 111) - 1;
    t->a = ((t->a >> 64) | ((u128)t3 << 29)) & mask93;
    t->b = ((t->b >> 64) | ((u128)t1 << 20)) & mask84;
    t->c = ((t->c >> 64) | ((u128)t2 << 47)) & mask111;
    return z;
}

static void trivium_seed(trivium *t, uint64_t seed) {
    t->a = (u128)seed << 13; /* key: the seed's 8 bytes little-endian, then two zero bytes */
    t->b = 0;                /* IV: lane 0 */
    t->c = 7;
    t->has_pending = 0;
    for (int i = 0; i < 1152 / 64; i++) trivium_block(t);
}

static uint32_t trivium_word(trivium *t) {
    if (t->has_pending) {
        t->has_pending = 0;
        return (uint32_t)t->pending;
    }
    uint64_t z = trivium_block(t);
    t->pending = z >> 32;
    t->has_pending = 1;
    return (uint32_t)z;
}

/* The LFSR engine: the leap matrix as the images of each state byte (the map is linear). */
static uint64_t table[8][256];

static uint64_t lfsr_advance(uint64_t state) {
    uint64_t following = 0;
    for (int k = 0; k < 8; k++) following ^= table[k][(state >> (8 * k)) & 0xff];
    return following;
}

enum engine { TRIVIUM, LFSR, SCRAMBLED };

typedef struct {
    enum engine engine;
    trivium trivium;
    uint64_t state;
} source;

static uint32_t next_word(source *s) {
    if (s->engine == TRIVIUM) return trivium_word(&s->trivium);
    uint32_t lo = (uint32_t)s->state, hi = (uint32_t)(s->state >> 32), word = lo;
    if (s->engine == SCRAMBLED) {
        uint32_t total = lo + hi;
        word = ((total << 7) | (total >> 25)) + lo;
    }
    s->state = lfsr_advance(s->state);
    return word;
}

static unsigned char out[BLOCK];
static size_t filled;
static unsigned long long remaining;
static int endless;

/* Returns 0 when the reader is gone or the bytes asked for are written. */
static int put_byte(unsigned char byte) {
    out[filled++] = byte;
    if (!endless && filled == remaining) {
        fwrite(out, 1, filled, stdout);
        return 0;
    }
    if (filled == BLOCK) {
        if (fwrite(out, 1, filled, stdout) != filled) return 0;
        remaining -= filled;
        filled = 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s ENGINE FORMAT BYTES SEEDS [ROW0 ... ROW63]\n", argv[0]);
        return 2;
    }
    enum engine engine;
    if (!strcmp(argv[1], "trivium")) engine = TRIVIUM;
    else if (!strcmp(argv[1], "lfsr")) engine = LFSR;
    else if (!strcmp(argv[1], "scrambled")) engine = SCRAMBLED;
    else {
        fprintf(stderr, "unknown engine %s\n", argv[1]);
        return 2;
    }
    unsigned long long count = 0;
    int bits = 0;
    if (!strncmp(argv[2], "indices:", 8)) {
        char *end;
        count = strtoull(argv[2] + 8, &end, 10);
        bits = (int)strtol(end + 1, NULL, 10);
        if (*end != ':' || count < 2 || bits < 1 || bits > 32 || count >= (1ull << bits)) {
            fprintf(stderr, "bad format %s\n", argv[2]);
            return 2;
        }
    } else if (strcmp(argv[2], "words")) {
        fprintf(stderr, "unknown format %s\n", argv[2]);
        return 2;
    }
    remaining = strtoull(argv[3], NULL, 10);
    endless = remaining == 0;
    if (engine != TRIVIUM) {
        if (argc != 5 + 64) {
            fprintf(stderr, "%s needs the 64 rows of the leap matrix\n", argv[1]);
            return 2;
        }
        uint64_t rows[64];
        for (int bit = 0; bit < 64; bit++) rows[bit] = strtoull(argv[5 + bit], NULL, 16);
        for (int k = 0; k < 8; k++)
            for (int v = 0; v < 256; v++) {
                uint64_t image = 0, part = (uint64_t)v << (8 * k);
                for (int bit = 0; bit < 64; bit++)
                    image |= (uint64_t)__builtin_parityll(part & rows[bit]) << bit;
                table[k][v] = image;
            }
    }
    uint64_t first = 0;
    unsigned long seeds = 0;
    char *colon = strchr(argv[4], ':');
    if (colon) {
        first = strtoull(argv[4], NULL, 16);
        seeds = strtoul(colon + 1, NULL, 10);
    } else {
        seeds = 1;
        for (char *c = argv[4]; *c; c++) seeds += *c == ',';
    }
    source *sources = calloc(seeds ? seeds : 1, sizeof(source));
    char *item = colon ? NULL : strtok(argv[4], ",");
    for (unsigned long k = 0; k < seeds; k++) {
        uint64_t value = colon ? first + k : strtoull(item, NULL, 16);
        if (!colon) item = strtok(NULL, ",");
        sources[k].engine = engine;
        if (engine == TRIVIUM) trivium_seed(&sources[k].trivium, value);
        else sources[k].state = value ? value : 0x9E3779B97F4A7C15ull; /* lfsr.seed_state */
    }
    if (!sources || !seeds) return 2;

    uint64_t threshold = count ? ((1ull << bits) % count) : 0, fraction = (1ull << bits) - 1;
    int parts[64], part_count = 0; /* the powers of two in count, largest first */
    for (int k = 63; k >= 0; k--)
        if ((count >> k) & 1) parts[part_count++] = k;
    uint64_t pending = 0; /* bits not yet written, first lowest */
    int pending_bits = 0;
    for (unsigned long turn = 0;; turn = (turn + 1) % seeds) {
        uint32_t word = next_word(&sources[turn]);
        if (!count) {
            for (int k = 0; k < 4; k++)
                if (!put_byte((unsigned char)(word >> (8 * k)))) return 0;
            continue;
        }
        uint64_t product = (uint64_t)(word >> (32 - bits)) * count;
        if ((product & fraction) < threshold) continue; /* rejected */
        uint64_t index = product >> bits;
        for (int p = 0; p < part_count; p++) { /* the power-of-two part the index falls in */
            int k = parts[p];
            if (index < (1ull << k)) {
                pending |= index << pending_bits;
                pending_bits += k;
                break;
            }
            index -= 1ull << k;
        }
        while (pending_bits >= 8) {
            if (!put_byte((unsigned char)pending)) return 0;
            pending >>= 8;
            pending_bits -= 8;
        }
    }
}
