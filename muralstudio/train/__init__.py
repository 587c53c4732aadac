"""Training: patch datasets, hole masks, losses and trainers for our own networks."""
