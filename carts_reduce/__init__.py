"""carts-reduce: delta-debugging reducer for failing CARTS compiler inputs."""

__version__ = "0.1.0"
