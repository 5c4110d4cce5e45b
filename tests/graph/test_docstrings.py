"""Every public layer constructor documents what it returns and raises (a Tripy habit)."""
import inspect

import pytest

import netdsl

CONSTRUCTORS = sorted(m for m in dir(netdsl.Network) if m.startswith("add_"))


@pytest.mark.parametrize("method", CONSTRUCTORS)
def test_constructor_docstring(method):
    doc = inspect.getdoc(getattr(netdsl.Network, method)) or ""
    assert "Returns:" in doc and "Raises:" in doc, f"Network.{method} docstring lacks Returns:/Raises:"


def test_there_are_many_constructors():
    assert len(CONSTRUCTORS) >= 40
