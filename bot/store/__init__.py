"""Redis-backed stores, one small module each, all keys from one key builder."""
