"""ComfyUI behind the `WorkflowEngine` port: its REST API and its progress WebSocket."""

from .engine import ComfyUIEngine

__all__ = ["ComfyUIEngine"]
