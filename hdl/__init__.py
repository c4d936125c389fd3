"""memgen.hdl"""
