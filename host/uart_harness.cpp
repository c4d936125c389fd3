// Verilator harness of the full MemGen top level: the host's bytes reach the design as UART bits
// on `rx`, the design's `tx` bits are decoded back into bytes.
//
// Usage: memgen_uart_sim DIVISOR [RX_DIVISOR]
//   stdin  -> bytes sent to the design, 8N1 at RX_DIVISOR clocks per bit (default DIVISOR: a
//             different value models a baud-rate mismatch)
//   stdout <- bytes the design sent, sampled at mid-bit with DIVISOR clocks per bit
//   stderr <- "clocks N" on exit
// With MEMGEN_TX_STAMPS=FILE set, the clock at which each byte from the design was complete is
// appended to FILE as a little-endian 64-bit integer (the benchmark times streaming with it).
// The clock runs while anything is in flight; when both lines have been idle for QUIET_CLOCKS
// (longer than the device ever works without sending, such as a full APPEND frame of 1-byte
// records, or a RECALL scan of the whole memory: MEMGEN_QUIET_CLOCKS sets it, default 50,000)
// the harness blocks on stdin, so an idle device costs no CPU. EOF on stdin ends it.

#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <vector>

#include "Vmemgen_top.h"
#include "verilated.h"

static const long DEFAULT_QUIET_CLOCKS = 50000;

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIVISOR [RX_DIVISOR]\n", argv[0]);
    return 2;
  }
  const long divisor = std::atol(argv[1]);
  const long rx_divisor = argc > 2 ? std::atol(argv[2]) : divisor;
  Verilated::commandArgs(1, argv);
  Vmemgen_top top;
  unsigned long long clocks = 0;
  auto tick = [&]() {
    top.clk = 0;
    top.eval();
    top.clk = 1;
    top.eval();
    ++clocks;
  };
  top.rx = 1;
  top.rst = 1;
  for (int i = 0; i < 4; ++i) tick();
  top.rst = 0;

  const char *stamps_path = std::getenv("MEMGEN_TX_STAMPS");
  const char *quiet_text = std::getenv("MEMGEN_QUIET_CLOCKS");
  const long QUIET_CLOCKS = quiet_text ? std::atol(quiet_text) : DEFAULT_QUIET_CLOCKS;
  FILE *stamps = stamps_path ? std::fopen(stamps_path, "wb") : nullptr;
  if (stamps_path && !stamps) {
    std::perror(stamps_path);
    return 2;
  }

  std::deque<unsigned char> input;
  std::vector<unsigned char> output;
  bool eof = false;

  // Line to the design: a 10-bit 8N1 frame shifted out every rx_divisor clocks.
  unsigned frame = 0;
  int bits_left = 0;
  long bit_clock = 0;
  // Line from the design: start-bit edge, then samples at mid-bit.
  bool receiving = false;
  long sample_at = 0;
  int bit_index = 0;
  unsigned char shift = 0;
  long quiet = 0;  // clocks with nothing in flight either way

  auto read_input = [&](int timeout_ms) {
    struct pollfd fd = {0, POLLIN, 0};
    if (poll(&fd, 1, timeout_ms) > 0) {
      unsigned char buffer[4096];
      ssize_t n = read(0, buffer, sizeof buffer);
      if (n <= 0)
        eof = true;
      else
        input.insert(input.end(), buffer, buffer + n);
    }
  };
  auto flush_output = [&]() {
    if (!output.empty()) {
      fwrite(output.data(), 1, output.size(), stdout);
      fflush(stdout);
      output.clear();
    }
  };

  while (!eof || !input.empty() || bits_left || receiving || quiet < QUIET_CLOCKS) {
    if (bits_left == 0 && !input.empty()) {
      frame = (1u << 9) | (unsigned(input.front()) << 1);  // stop, data LSB first, start
      input.pop_front();
      bits_left = 10;
      bit_clock = 0;
    }
    if (bits_left) {
      top.rx = frame & 1;
      if (++bit_clock == rx_divisor) {
        bit_clock = 0;
        frame >>= 1;
        --bits_left;
      }
    } else {
      top.rx = 1;
    }
    tick();

    if (!receiving) {
      if (!top.tx) {
        receiving = true;
        sample_at = divisor / 2;  // middle of the start bit
        bit_index = 0;
        shift = 0;
      }
    } else if (--sample_at == 0) {
      if (bit_index == 0) {
        if (top.tx) receiving = false;  // a glitch, not a start bit
      } else if (bit_index <= 8) {
        shift = (shift >> 1) | (top.tx ? 0x80 : 0);
      } else {
        if (top.tx) {  // a byte with a bad stop bit is dropped
          output.push_back(shift);
          if (stamps) {
            uint64_t stamp = clocks;
            std::fwrite(&stamp, sizeof stamp, 1, stamps);
          }
        }
        receiving = false;
      }
      ++bit_index;
      sample_at = divisor;
    }

    quiet = (bits_left || receiving || !top.tx) ? 0 : quiet + 1;
    if ((clocks & 1023) == 0) {
      flush_output();
      if (!eof) read_input(0);
    }
    if (quiet >= QUIET_CLOCKS && input.empty() && !eof) {
      flush_output();
      read_input(-1);  // nothing in flight: wait for the host
      quiet = 0;
    }
  }
  flush_output();
  if (stamps) std::fclose(stamps);
  std::fprintf(stderr, "clocks %llu\n", clocks);
  top.final();
  return 0;
}
