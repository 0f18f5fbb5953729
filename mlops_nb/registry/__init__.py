"""The model registry: versions, aliases with their full history, gates, model files."""
