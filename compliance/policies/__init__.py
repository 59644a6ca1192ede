"""The platform's own checkov policies, loaded with `checkov --external-checks-dir compliance/policies`.

checkov skips a Python check folder without this file (see ../../shared/FACTS.md)."""
