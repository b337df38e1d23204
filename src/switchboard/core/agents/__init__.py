"""Agents: the prompt enhancer and the workflow agent (enhance, route by task, answer)."""
