# The offline rehearsal of the cloud run (README "Try the cloud path without AWS"): the venv
# (moto, the offline Terraform) and the S3A jars are all it needs.
.PHONY: rehearse

# mk/s3a.mk is read after this file: its S3A_JARS is not set yet here.
rehearse: $(VENV)/.installed .tools/jars/.installed
	$(VENV)/bin/fruits rehearse $(ARGS)
