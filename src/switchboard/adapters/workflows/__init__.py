"""Workflow engine adapters (ComfyUI) behind `core.workflows.ports.WorkflowEngine`."""
