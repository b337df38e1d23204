"""The face's routers, one module per area of OpenAI's API."""
