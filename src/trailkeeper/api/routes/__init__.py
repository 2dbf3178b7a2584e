"""Route modules: each translates HTTP to one service call and back."""
