"""Evolutionary architecture search over the market: a space of specs, an Optuna study whose
trials are market tasks, and a requester-side coordinator that keeps them flowing."""
