"""Ingest: read, clean and split documents into citable chunks and sentences, and embed them."""
