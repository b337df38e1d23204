"""Workflow engines (ComfyUI): node graphs submitted, followed and collected."""
