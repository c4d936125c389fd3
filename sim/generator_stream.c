/* The index generator's raw 32-bit words on stdout, little-endian, for dieharder -g 200.
 *
 * Bit-exact with memgen.hdl.index_generator.IndexGeneratorModel.next_word: the engine state is
 * multiplied over GF(2) by the leap matrix once per word, and the output stage is either the
 * state's low half ("lfsr") or the xoshiro128++-style scrambler ("scrambled"). The matrix rows
 * come from Python (memgen.sim.fast_generator builds and runs this program), so the engine's
 * taps live in one place.
 *
 * usage: generator_stream scrambled|lfsr STATE WORDS ROW0 ... ROW63   (STATE, ROWs hex; WORDS decimal, 0: never stop)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 65536

int main(int argc, char **argv) {
    if (argc != 4 + 64) {
        fprintf(stderr, "usage: %s scrambled|lfsr STATE WORDS ROW0 ... ROW63\n", argv[0]);
        return 2;
    }
    int scrambled = strcmp(argv[1], "scrambled") == 0;
    if (!scrambled && strcmp(argv[1], "lfsr") != 0) {
        fprintf(stderr, "unknown generator %s\n", argv[1]);
        return 2;
    }
    uint64_t state = strtoull(argv[2], NULL, 16);
    unsigned long long words = strtoull(argv[3], NULL, 10);
    uint64_t rows[64];
    for (int bit = 0; bit < 64; bit++) rows[bit] = strtoull(argv[4 + bit], NULL, 16);
    /* The map is linear, so the next state is the XOR of what each state byte contributes:
     * table[k][v] is the image of byte value v in byte position k. */
    static uint64_t table[8][256];
    for (int k = 0; k < 8; k++)
        for (int v = 0; v < 256; v++) {
            uint64_t image = 0, part = (uint64_t)v << (8 * k);
            for (int bit = 0; bit < 64; bit++)
                image |= (uint64_t)__builtin_parityll(part & rows[bit]) << bit;
            table[k][v] = image;
        }

    static unsigned char out[4 * BLOCK];
    unsigned long long written = 0;
    while (!words || written < words) {
        size_t size = BLOCK;
        if (words && words - written < size) size = (size_t)(words - written);
        for (size_t i = 0; i < size; i++) {
            uint32_t lo = (uint32_t)state, hi = (uint32_t)(state >> 32), word = lo;
            if (scrambled) {
                uint32_t total = lo + hi;
                word = ((total << 7) | (total >> 25)) + lo;
            }
            out[4 * i] = (unsigned char)word;
            out[4 * i + 1] = (unsigned char)(word >> 8);
            out[4 * i + 2] = (unsigned char)(word >> 16);
            out[4 * i + 3] = (unsigned char)(word >> 24);
            uint64_t following = 0;
            for (int k = 0; k < 8; k++) following ^= table[k][(state >> (8 * k)) & 0xff];
            state = following;
        }
        if (fwrite(out, 4, size, stdout) != size) return 0; /* the reader has what it wants */
        written += size;
    }
    return fflush(stdout) != 0;
}
