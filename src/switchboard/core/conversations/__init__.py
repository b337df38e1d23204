"""Conversations: threads, their messages, and the replies that fill them."""
