"""Export files for long-term retention: requests, file formats, manifests, checks."""
