# make architecture: redraw docs/architecture.png from docs/architecture.py (diagrams + Graphviz).
DOCS_VENV := .venv-docs
.PHONY: architecture
$(DOCS_VENV)/.installed:
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_VENV)/bin/pip install --quiet diagrams==0.25.1 graphviz==0.20.3
	touch $@
architecture: $(DOCS_VENV)/.installed
	@command -v dot >/dev/null || { echo "Graphviz is needed: apt-get install graphviz"; exit 1; }
	$(DOCS_VENV)/bin/python docs/architecture.py
