"""Point-in-time candlestick charts: a vectorised raster renderer for model
input, an mplfinance renderer for people, shard planning and a loader."""
