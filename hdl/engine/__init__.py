"""memgen.hdl.engine"""
