"""What the tests drive the gateware with: the Amaranth simulator with stalls, scripted core
packets, cocotb on Verilator and Icarus, SymbiYosys proofs, the threshold check in C++."""
