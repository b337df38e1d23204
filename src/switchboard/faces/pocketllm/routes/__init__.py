"""The PocketLLM face's routes, one module per area, each with a module-level `router`."""
