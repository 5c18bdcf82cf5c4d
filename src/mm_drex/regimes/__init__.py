"""Forward regime labels (uptrend / downtrend / sideways): targets only."""
