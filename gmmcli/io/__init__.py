"""Reading CSV, writing predictions, and the model file."""
