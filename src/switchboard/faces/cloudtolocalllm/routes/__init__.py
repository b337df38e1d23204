"""CloudToLocalLLM's routes, one module per section of its document."""
