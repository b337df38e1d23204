"""Provider profiles: named provider connections with their options and models."""
