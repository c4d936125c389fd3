"""memgen.hdl.fpga"""
