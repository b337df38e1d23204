"""HTTP plumbing shared by every face: context, errors, auth, limits, metrics, streaming."""
