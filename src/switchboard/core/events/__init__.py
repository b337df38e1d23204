"""Events: one bus with topics, in-process or over Redis; every socket reads from it."""
