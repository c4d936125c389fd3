"""memgen.boards"""
