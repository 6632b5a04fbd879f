"""dltrack: watch a Keras training live from any notebook or terminal, and stop it."""
