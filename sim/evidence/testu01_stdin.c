/* A TestU01 battery on 32-bit words read from stdin (little-endian), for make stats.
 *
 * usage: testu01_stdin small|crush|bigcrush FIRST LAST NAME
 *   runs the battery's tests FIRST to LAST (TestU01's numbering, from 1) once each on the stream,
 *   then prints one line per p-value, "pvalue INDEX VALUE NAME", and "words WORDS".
 * Link: cc -O2 testu01_stdin.c -Iinclude -Llib -ltestu01 -lprobdist -lmylib -lm
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bbattery.h"
#include "unif01.h"

#define BUFFER 65536
#define MAX_TESTS 200

static uint32_t buffer[BUFFER];
static size_t position, filled;
static unsigned long long consumed;

static unsigned int next_word(void) {
    if (position == filled) {
        filled = fread(buffer, 4, BUFFER, stdin);
        position = 0;
        if (!filled) {
            fprintf(stderr, "testu01_stdin: the stream ended after %llu words\n", consumed);
            exit(3);
        }
    }
    consumed++;
    return buffer[position++];
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s small|crush|bigcrush FIRST LAST NAME\n", argv[0]);
        return 2;
    }
    int first = atoi(argv[2]), last = atoi(argv[3]);
    int size = !strcmp(argv[1], "small") ? 10 : !strcmp(argv[1], "crush") ? 96 : 106;
    if (first < 1 || last > size || first > last) {
        fprintf(stderr, "tests %d to %d: the battery has tests 1 to %d\n", first, last, size);
        return 2;
    }
    static int repeat[MAX_TESTS + 1];
    for (int test = first; test <= last; test++) repeat[test] = 1;
    unif01_Gen *generator = unif01_CreateExternGenBits(argv[4], next_word);
    if (!strcmp(argv[1], "small")) bbattery_RepeatSmallCrush(generator, repeat);
    else if (!strcmp(argv[1], "crush")) bbattery_RepeatCrush(generator, repeat);
    else bbattery_RepeatBigCrush(generator, repeat);
    for (int j = 0; j < bbattery_NTests; j++)
        if (bbattery_pVal[j] >= 0)
            printf("pvalue %d %.17g %s\n", j, bbattery_pVal[j], bbattery_TestNames[j]);
    printf("words %llu\n", consumed);
    unif01_DeleteExternGenBits(generator);
    return 0;
}
