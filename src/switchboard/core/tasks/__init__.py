"""Spoon Feeder's generation tasks (run on the jobs engine) and the results they leave."""
