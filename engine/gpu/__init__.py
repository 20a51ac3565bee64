"""engine.gpu"""
