"""memgen.hdl.common"""
