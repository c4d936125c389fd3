// Every count from FIRST to LAST through the Threshold unit (compiled by Verilator): the
// threshold it settles on must be 2**BITS mod count. Prints one line per mismatch (at most
// 10), then "checked N mismatches M".
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "Vthreshold_unit.h"
#include "verilated.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FIRST LAST BITS\n", argv[0]);
    return 2;
  }
  const uint64_t first = std::strtoull(argv[1], nullptr, 10);
  const uint64_t last = std::strtoull(argv[2], nullptr, 10);
  const int bits = std::atoi(argv[3]);
  Vthreshold_unit top;
  auto tick = [&top] {
    top.clk = 0;
    top.eval();
    top.clk = 1;
    top.eval();
  };
  top.rst = 1;
  tick();
  top.rst = 0;
  uint64_t checked = 0, mismatches = 0;
  for (uint64_t count = first; count <= last; ++count) {
    top.count = count;
    int clocks = 0;
    do {  // ready may still be high in the clock before `changed` is
      tick();
      ++clocks;
    } while (!(top.ready && !top.changed && top.count_of == count) && clocks < bits + 8);
    const uint64_t want = (uint64_t{1} << bits) % count;
    if (top.threshold != want || clocks >= bits + 8) {
      if (++mismatches <= 10)
        std::printf("count %llu: threshold %llu after %d clocks, want %llu\n",
                    (unsigned long long)count, (unsigned long long)top.threshold, clocks,
                    (unsigned long long)want);
    }
    ++checked;
  }
  std::printf("checked %llu mismatches %llu\n", (unsigned long long)checked,
              (unsigned long long)mismatches);
  return mismatches != 0;
}
