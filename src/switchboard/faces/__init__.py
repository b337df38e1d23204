"""The API surfaces: thin translations between a wire format and the core."""
