"""engine.wallet"""
