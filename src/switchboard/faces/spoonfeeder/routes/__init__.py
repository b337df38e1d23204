"""The Spoon Feeder face's routes, one module per section of its document."""
