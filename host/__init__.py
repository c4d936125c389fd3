"""memgen.host"""
