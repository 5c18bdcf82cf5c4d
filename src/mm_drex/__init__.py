"""MM-DREX: multimodal, dynamically routed experts for trading (arXiv 2509.05080)."""

__version__ = "0.1.0"
