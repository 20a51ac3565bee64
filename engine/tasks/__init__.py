"""engine.tasks"""
