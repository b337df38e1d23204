"""PluginMind's routes by area, all at the root as in the original backend."""
