"""Images: the image models switchboard prices, cost estimates and the generation job."""
