"""Deployment support for the production runner (scripts/serve.sh): the start-up check and JSON logging."""
