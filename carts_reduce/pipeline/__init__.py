"""The CARTS pipeline above a job: which stages exist, which one fails."""
