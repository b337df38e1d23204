"""Media: stored files (generated images), kept by a storage adapter, served to their owner."""
