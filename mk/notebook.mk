# make notebook: run notebooks/fruits_pipeline.ipynb on the sample (embedded Spark) and save the
# executed copy, with its outputs and plots, to output/fruits_pipeline.executed.ipynb.
.PHONY: notebook
notebook: $(VENV)/.installed
	mkdir -p output
	$(PY) -c 'import nbformat, nbclient; nb = nbformat.read("notebooks/fruits_pipeline.ipynb", as_version=4); \
	nbclient.NotebookClient(nb, timeout=1800, kernel_name="python3").execute(); \
	nbformat.write(nb, "output/fruits_pipeline.executed.ipynb"); print("wrote output/fruits_pipeline.executed.ipynb")'
