"""memgen.hdl.link"""
