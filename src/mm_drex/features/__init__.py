"""Causal features of each decision point: indicators, long-term temporal
features (train-only normalisation) and the text view."""
