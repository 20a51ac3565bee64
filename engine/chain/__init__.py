"""engine.chain"""
