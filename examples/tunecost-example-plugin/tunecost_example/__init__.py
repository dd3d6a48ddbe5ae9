"""An example tunecost plugin: one optimizer (Lion) and one task (wine-mlp)."""
