"""Spoon Feeder's ComfyUI workspace: sessions, saved workflows and generations, run on the
operator's workflow engine and followed in the background by a job."""
