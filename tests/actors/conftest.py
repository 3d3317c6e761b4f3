"""Fixtures shared by every test of actors/ (add yours below).

Those of one subpackage live beside its tests: tests/actors/etl/conftest.py.
"""
