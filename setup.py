"""Package layout only (metadata lives in pyproject.toml).

The model zoo sits in the repository's top-level ``models/`` folder but is
installed as ``netdsl.models``, so netdsl owns no generic top-level name.
"""
from setuptools import find_packages, setup

ZOO = ["netdsl.models"] + [f"netdsl.models.{p}" for p in find_packages("models")]
setup(packages=find_packages(include=["netdsl", "netdsl.*"]) + ZOO,
      py_modules=["netdsl_console"],  # the console script's entry point (see its docstring)
      package_dir={"netdsl.models": "models"},
      package_data={"netdsl.models": ["*.names", "*.txt", "cfg/*.cfg", "cfg/*.md"]})
