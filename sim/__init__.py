"""memgen.sim"""
