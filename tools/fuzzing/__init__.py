"""Fuzzing support for netdsl readers (see tools/fuzz_readers.py)."""
