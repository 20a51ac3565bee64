"""engine.history"""
