"""Example workflows used by the tests, the demo and the notebooks."""
