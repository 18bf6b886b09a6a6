"""Adapters: where the operator's records meet storage (SQL, columnar files)."""
